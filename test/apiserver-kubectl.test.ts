// The real /usr/bin/kubectl against the lab API server: apply (client-side and --server-side),
// create, replace, get -o yaml, get --watch, label, annotate, delete, --dry-run=server, and a
// webhook denial printed exactly as against a real cluster.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import type { ApiServer } from "../lab/apiserver/index.ts";
import { startApiWithWebhook, type TestWebhook } from "../lab/apiserver/test-webhook.ts";
import { KUBECTL, kubectlWith } from "./kubectl-run.ts";
import { until } from "./until.ts";

const missing = existsSync(KUBECTL) ? false : `kubectl is not installed at ${KUBECTL}`;

let api: ApiServer;
let hook: TestWebhook;
let stop: (() => Promise<void>) | undefined;
let dir: string;

const kubectl = kubectlWith(
  () => api.kubeconfigPath,
  () => dir,
);

function file(name: string, text: string): string {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
}

const service = (name: string, extra = "", targetPort = 8080) => `apiVersion: v1
kind: Service
metadata:
  name: ${name}
  labels:
    app: ${name}${extra}
spec:
  selector:
    app: ${name}
  ports:
  - name: http
    port: 80
    targetPort: ${targetPort}
`;

describe("kubectl against the lab API server", { skip: missing }, () => {
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "apiserver-kubectl-"));
    ({ api, hook, stop } = await startApiWithWebhook("deny", (req) => {
      const labels =
        (req.object as { metadata?: { labels?: Record<string, string> } } | null)?.metadata?.labels ?? {};
      if (labels.verdict === "deny")
        return {
          allowed: false,
          status: { code: 403, reason: "Forbidden", message: "services labelled verdict=deny are refused" },
        };
      if (labels.verdict === "warn") return { allowed: true, warnings: ["this Service is merely tolerated"] };
      return { allowed: true };
    }));
    const caBundle = Buffer.from(api.ca.cert).toString("base64");
    const config = file(
      "vwc.yaml",
      `apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingWebhookConfiguration
metadata:
  name: lab-deny
webhooks:
- name: deny.lab.example.com
  admissionReviewVersions: ["v1"]
  sideEffects: None
  clientConfig:
    caBundle: ${caBundle}
    service: {namespace: webhooks, name: deny, path: /validate}
  rules:
  - operations: ["CREATE", "UPDATE"]
    apiGroups: [""]
    apiVersions: ["v1"]
    resources: ["services"]
  objectSelector:
    matchExpressions: [{key: verdict, operator: Exists}]
`,
    );
    const r = await kubectl("apply", "-f", config);
    assert.equal(r.code, 0, r.stderr);
  });
  after(async () => {
    await stop?.();
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  });

  it("apply creates, then configures with a strategic merge patch; get -o yaml shows the result", async () => {
    const f = file("web.yaml", service("web"));
    const created = await kubectl("apply", "-f", f);
    assert.equal(created.stdout, "service/web created\n", created.stderr);
    file("web.yaml", service("web", "", 9090));
    const configured = await kubectl("apply", "-f", f);
    assert.equal(configured.stdout, "service/web configured\n", configured.stderr);
    const unchanged = await kubectl("apply", "-f", f);
    assert.equal(unchanged.stdout, "service/web unchanged\n", unchanged.stderr);
    const y = await kubectl("get", "svc", "web", "-o", "yaml");
    assert.match(y.stdout, /targetPort: 9090/);
    assert.match(y.stdout, /clusterIP: 10\.96\.0\.\d+/);
    assert.match(y.stdout, /kubectl\.kubernetes\.io\/last-applied-configuration/);
  });

  it("get prints the server's table columns", async () => {
    const r = await kubectl("get", "svc");
    assert.equal(r.code, 0, r.stderr);
    const [header, row] = r.stdout.split("\n");
    assert.match(header ?? "", /^NAME\s+TYPE\s+CLUSTER-IP\s+EXTERNAL-IP\s+PORT\(S\)\s+AGE$/);
    assert.match(row ?? "", /^web\s+ClusterIP\s+10\.96\.0\.\d+\s+<none>\s+80\/TCP\s+\d+s$/);
  });

  it("apply --server-side applies and reports conflicts with the other manager", async () => {
    const f = file("ssa.yaml", service("ssa"));
    const r = await kubectl("apply", "--server-side", "-f", f);
    assert.equal(r.stdout, "service/ssa serverside-applied\n", r.stderr);
    const other = file("ssa-other.yaml", service("ssa", "", 7070));
    const c = await kubectl("apply", "--server-side", "--field-manager", "someone-else", "-f", other);
    assert.notEqual(c.code, 0);
    assert.match(
      c.stderr,
      /Apply failed with 1 conflict: conflict with "kubectl": \.spec\.ports\[port=80,protocol="TCP"\]\.targetPort/,
    );
    const forced = await kubectl(
      "apply",
      "--server-side",
      "--force-conflicts",
      "--field-manager",
      "someone-else",
      "-f",
      other,
    );
    assert.equal(forced.code, 0, forced.stderr);
    const port = await kubectl("get", "svc", "ssa", "-o", "jsonpath={.spec.ports[0].targetPort}");
    assert.equal(port.stdout, "7070");
  });

  it("create refuses an existing object; replace replaces it", async () => {
    const f = file("web.yaml", service("web", '\n    replaced: "yes"', 9090));
    const c = await kubectl("create", "-f", f);
    assert.notEqual(c.code, 0);
    assert.equal(
      c.stderr.trim(),
      `Error from server (AlreadyExists): error when creating "${f}": services "web" already exists`,
    );
    const r = await kubectl("replace", "-f", f);
    assert.equal(r.stdout, "service/web replaced\n", r.stderr);
    const l = await kubectl("get", "svc", "web", "-o", "jsonpath={.metadata.labels.replaced}");
    assert.equal(l.stdout, "yes");
  });

  it("label and annotate", async () => {
    assert.equal((await kubectl("label", "svc", "web", "tier=front")).stdout, "service/web labeled\n");
    assert.equal((await kubectl("annotate", "svc", "web", "note=hello")).stdout, "service/web annotated\n");
    const r = await kubectl(
      "get",
      "svc",
      "-l",
      "tier=front",
      "-o",
      "jsonpath={.items[*].metadata.annotations.note}",
    );
    assert.equal(r.stdout, "hello");
  });

  it("--dry-run=server goes through validation but stores nothing", async () => {
    const f = file("dry.yaml", service("dry"));
    const r = await kubectl("apply", "--dry-run=server", "-f", f);
    assert.equal(r.stdout, "service/dry created (server dry run)\n", r.stderr);
    const g = await kubectl("get", "svc", "dry");
    assert.equal(g.stderr.trim(), 'Error from server (NotFound): services "dry" not found');
  });

  it("prints a webhook denial exactly as against a real cluster", async () => {
    const f = file("denied.yaml", service("denied", "\n    verdict: deny"));
    const r = await kubectl("apply", "-f", f);
    assert.equal(r.code, 1);
    assert.equal(
      r.stderr,
      `Error from server (Forbidden): error when creating "${f}": admission webhook "deny.lab.example.com" denied the request: services labelled verdict=deny are refused\n`,
    );
    const dry = await kubectl("apply", "--dry-run=server", "-f", f);
    assert.match(dry.stderr, /admission webhook "deny\.lab\.example\.com" denied the request/);
    assert.ok(hook.reviews.some((x) => (x.review.request as { dryRun?: boolean }).dryRun === true));
  });

  it("prints webhook warnings as kubectl warnings", async () => {
    const f = file("warned.yaml", service("warned", "\n    verdict: warn"));
    const r = await kubectl("apply", "-f", f);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /^Warning: this Service is merely tolerated$/m);
  });

  it("get --watch prints changes as they happen", async () => {
    const child = spawn(KUBECTL, [
      "--kubeconfig",
      api.kubeconfigPath,
      "--cache-dir",
      join(dir, "cache"),
      "get",
      "svc",
      "--watch",
      "--output-watch-events",
    ]);
    let out = "";
    child.stdout.on("data", (c: Buffer) => (out += c.toString()));
    try {
      const waitFor = (re: RegExp) =>
        until(String(re), () => re.test(out), { timeoutMs: 15_000, detail: () => `output:\n${out}` });
      await waitFor(/ADDED\s+web\s+ClusterIP/);
      await kubectl("apply", "-f", file("watched.yaml", service("watched")));
      await waitFor(/ADDED\s+watched\s+ClusterIP/);
      await kubectl("delete", "svc", "watched");
      await waitFor(/DELETED\s+watched\s+ClusterIP/);
    } finally {
      child.kill();
    }
  });

  it("accepts the protobuf bodies of kubectl's generator commands", async () => {
    assert.equal((await kubectl("create", "namespace", "made")).stdout, "namespace/made created\n");
    const svc = await kubectl("create", "service", "nodeport", "gen", "--tcp=443:8443", "-n", "made");
    assert.equal(svc.stdout, "service/gen created\n", svc.stderr);
    const spec = await kubectl(
      "get",
      "svc",
      "gen",
      "-n",
      "made",
      "-o",
      "jsonpath={.spec.type} {.spec.ports[0].targetPort} {.spec.ports[0].nodePort} {.spec.selector.app}",
    );
    assert.match(spec.stdout, /^NodePort 8443 30\d{3} gen$/);
    assert.equal(
      (await kubectl("create", "configmap", "cfg", "--from-literal=a=b", "-n", "made")).stdout,
      "configmap/cfg created\n",
    );
    assert.equal((await kubectl("get", "cm", "cfg", "-n", "made", "-o", "jsonpath={.data.a}")).stdout, "b");
  });

  it("delete removes the object and says so", async () => {
    const r = await kubectl("delete", "svc", "web");
    assert.equal(r.stdout, 'service "web" deleted\n', r.stderr);
    const g = await kubectl("get", "svc", "web");
    assert.equal(g.stderr.trim(), 'Error from server (NotFound): services "web" not found');
  });
});
