// End to end through lab/'s Kubernetes API stand-in and the real kubectl: deploy/webhook's
// configurations registered as they are shipped (caBundle filled in, as the certs command does),
// the webhook server running in-process over HTTPS.
import assert from "node:assert/strict";

import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { parse, stringify } from "yaml";
import { startApiServer, type ApiServer } from "../lab/apiserver/index.ts";
import { createLogger } from "../runtime/index.ts";
import { startWebhook, type Webhook } from "../webhook/server.ts";
import { SecretVolume } from "./webhook-tls.ts";
import { KUBECTL, kubectlWith } from "./kubectl-run.ts";

const missing = existsSync(KUBECTL) ? false : `kubectl is not installed at ${KUBECTL}`;
const P = "service.kubernetes.io/kube-nftlb-load-balancer-";

let api: ApiServer;
let webhook: Webhook;
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

const svc = (name: string, annotations: Record<string, string>, spec = "") =>
  file(
    `${name}.yaml`,
    stringify({
      apiVersion: "v1",
      kind: "Service",
      metadata: { name, annotations, labels: { app: name } },
      spec: {
        selector: { app: name },
        ports: [{ name: "http", port: 80, targetPort: 8080 }],
        ...(spec ? (parse(spec) as Record<string, unknown>) : {}),
      },
    }),
  );

describe("the webhook behind the lab API server, through kubectl", { skip: missing }, () => {
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), `webhook-e2e-${process.pid}-`));
    let port = 0;
    api = await startApiServer({
      resolveService: (s) =>
        s.namespace === "kube-nftlb" && s.name === "kube-nftlb-webhook"
          ? `https://127.0.0.1:${port}`
          : undefined,
    });
    const serving = api.ca.issue({
      commonName: "kube-nftlb-webhook.kube-nftlb.svc",
      dnsNames: ["kube-nftlb-webhook.kube-nftlb.svc"],
      ips: ["127.0.0.1"],
    });
    const volume = new SecretVolume(join(dir, "tls"));
    volume.write({ "tls.crt": serving.cert, "tls.key": serving.key });
    webhook = await startWebhook({
      tlsCert: volume.certFile,
      tlsKey: volume.keyFile,
      port: 0,
      probePort: 0,
      host: "127.0.0.1",
      defaultsFile: file("defaults.yaml", "scheduler: symhash\n"),
      log: createLogger({ name: "webhook", level: "warn" }),
    });
    port = webhook.port;

    // The shipped configurations, with the caBundle the certs command would patch in.
    const caBundle = Buffer.from(api.ca.cert).toString("base64");
    for (const name of ["mutating-webhook.yaml", "validating-webhook.yaml"]) {
      const doc = parse(readFileSync(join(import.meta.dirname, "..", "deploy", "webhook", name), "utf8")) as {
        webhooks: { clientConfig: { caBundle?: string } }[];
      };
      for (const w of doc.webhooks) w.clientConfig.caBundle = caBundle;
      const r = await kubectl("apply", "-f", file(name, stringify(doc)));
      assert.equal(r.code, 0, r.stderr);
    }
    assert.equal((await kubectl("create", "namespace", "shop")).code, 0);
  });

  after(async () => {
    await webhook?.close();
    await api?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("kubectl apply of a bad annotation is refused: Forbidden, every problem, with suggestions", async () => {
    const f = svc("bad", { [`${P}mode`]: "SNAT", [`${P}schedular`]: "rr" });
    const r = await kubectl("apply", "-n", "shop", "-f", f);
    assert.notEqual(r.code, 0);
    assert.match(
      r.stderr,
      /^Error from server \(Forbidden\): error when creating ".*bad\.yaml": admission webhook "validate\.kube-nftlb\.io" denied the request: Service shop\/bad has 2 invalid kube-nftlb settings: /m,
    );
    assert.match(r.stderr, /mode: invalid value "SNAT"; did you mean "snat"\?/);
    assert.match(r.stderr, /schedular: unknown kube-nftlb annotation; did you mean ".*-scheduler"\?/);
    assert.equal((await kubectl("get", "svc", "bad", "-n", "shop")).code, 1);
  });

  it("kubectl apply --dry-run=server gets the same refusal", async () => {
    const f = svc("dry", { [`${P}helper`]: "irc" });
    const r = await kubectl("apply", "--dry-run=server", "-n", "shop", "-f", f);
    assert.notEqual(r.code, 0);
    assert.match(
      r.stderr,
      /Error from server \(Forbidden\): error when creating ".*dry\.yaml": admission webhook "validate\.kube-nftlb\.io" denied the request: Service shop\/dry has an invalid kube-nftlb setting: .*helper: helper "irc" is listed by the original kube-nftlb README but nftlb has never implemented it/,
    );
  });

  it("a good apply gets the cluster defaults written, never persistence, and keeps the user's value", async () => {
    const f = svc("good", { [`${P}mode`]: "dnat", "example.com/team": "web" });
    const r = await kubectl("apply", "-n", "shop", "-f", f);
    assert.equal(r.code, 0, r.stderr);
    const y = await kubectl("get", "svc", "good", "-n", "shop", "-o", "yaml");
    const annotations = (parse(y.stdout) as { metadata: { annotations: Record<string, string> } }).metadata
      .annotations;
    assert.equal(annotations[`${P}mode`], "dnat");
    assert.equal(annotations[`${P}scheduler`], "symhash"); // from the defaults file
    assert.equal(annotations[`${P}helper`], "none");
    assert.equal(annotations[`${P}log`], "none");
    assert.equal(annotations["example.com/team"], "web");
    assert.equal(`${P}persistence` in annotations, false);
    // Applying the same file again changes nothing: the defaults are not fought over.
    const again = await kubectl("apply", "-n", "shop", "-f", f);
    assert.equal(again.stdout.trim(), "service/good unchanged");
  });

  it("warnings reach kubectl", async () => {
    const f = svc("sticky", { [`${P}persistence`]: "srcport" }, "sessionAffinity: ClientIP");
    const r = await kubectl("apply", "-n", "shop", "-f", f);
    assert.equal(r.code, 0, r.stderr);
    assert.match(
      r.stderr,
      /Warning: .*persistence: the annotation "srcport" takes priority over spec.sessionAffinity: ClientIP/,
    );
  });

  it("an update that introduces an error is refused; kube-system is never sent to the webhook", async () => {
    const r = await kubectl("annotate", "-n", "shop", "svc", "good", `${P}log=everything`, "--overwrite");
    assert.notEqual(r.code, 0);
    assert.match(
      r.stderr,
      /Error from server \(Forbidden\): .*denied the request: Service shop\/good has an invalid kube-nftlb setting: .*log: invalid value "everything"/,
    );
    const sys = await kubectl("apply", "-n", "kube-system", "-f", svc("system", { [`${P}mode`]: "SNAT" }));
    assert.equal(sys.code, 0, sys.stderr);
  });
  // Last: it stops the webhook. The mutating webhook writes defaults into every Service it
  // balances, so nearly every Service carries kube-nftlb annotations afterwards; only an update
  // that changes what validation judges may need the (Fail) webhook.
  it("with the webhook down, a defaulted Service can still be relabelled; a changed annotation is refused", async () => {
    const r = await kubectl("apply", "-n", "shop", "-f", svc("plain", {}));
    assert.equal(r.code, 0, r.stderr);
    const y = await kubectl("get", "svc", "plain", "-n", "shop", "-o", "yaml");
    const got = (parse(y.stdout) as { metadata: { annotations: Record<string, string> } }).metadata
      .annotations;
    assert.equal(got[`${P}scheduler`], "symhash", "the defaults were written");
    await webhook.close();
    const label = await kubectl("label", "-n", "shop", "svc", "plain", "team=x");
    assert.equal(label.code, 0, label.stderr);
    const scale = await kubectl("annotate", "-n", "shop", "svc", "plain", "example.com/owner=me");
    assert.equal(scale.code, 0, scale.stderr);
    const bad = await kubectl("annotate", "-n", "shop", "svc", "plain", `${P}log=everything`, "--overwrite");
    assert.notEqual(bad.code, 0);
    assert.match(bad.stderr, /InternalError.*failed calling webhook "validate\.kube-nftlb\.io"/);
    const spec = await kubectl(
      "patch",
      "-n",
      "shop",
      "svc",
      "plain",
      "-p",
      '{"spec":{"sessionAffinity":"ClientIP"}}',
    );
    assert.notEqual(spec.code, 0, "a spec change is judged: refused while the webhook is down");
  });
});
