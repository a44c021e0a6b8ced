// deploy/'s RBAC, enforced: the lab runs the syncer and `certs ensure` as deploy/'s
// ServiceAccounts with deploy/'s Roles and bindings (lab/cluster/deploy-identities.ts), and the
// API stand-in authorizes as kube-apiserver does. So the lab starting at all, and every other lab
// test, shows those permissions are enough; this file shows they are also what is enforced (what
// each identity may not do), that nothing the components asked for was refused, and that a
// component without its binding fails with the server's 403 text in its log.
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { startCluster } from "../lab/cluster/cluster.ts";
import { syncerArgs } from "../lab/cluster/deploy-args.ts";
import { startProduct, type ProductProcess } from "../lab/cluster/processes.ts";
import { startLab, whyNoLab, type Lab } from "./lab-fixture.ts";
import { until } from "./until.ts";

const skip = whyNoLab() ?? false;
const SYNCER = "system:serviceaccount:kube-nftlb:kube-nftlb-syncer";
const CERTS = "system:serviceaccount:kube-nftlb:kube-nftlb-certs";

describe("deploy/'s RBAC in the lab", { skip }, () => {
  let lab: Lab;
  const apiLog: string[] = [];
  let extra: ProductProcess | undefined;
  const as = (who: "syncer" | "certs", ...args: string[]) =>
    lab.kubectl(["--kubeconfig", path.join(lab.dir, `${who}.kubeconfig`), ...args]);
  const can = async (who: "syncer" | "certs", ...args: string[]) =>
    (await as(who, "auth", "can-i", ...args)).stdout.trim();

  before(async () => {
    lab = await startLab({ nodes: 1, apiLog: (l) => apiLog.push(l) });
  });
  after(async () => {
    await extra?.stop();
    await lab?.stop();
  });

  it("the syncer and certs ensure run as deploy/'s ServiceAccounts", async () => {
    for (const [who, user] of [
      ["syncer", SYNCER],
      ["certs", CERTS],
    ] as const) {
      const r = await as(who, "auth", "whoami", "-o", "jsonpath={.status.userInfo.username}");
      assert.equal(r.stdout, user, r.stderr);
    }
  });

  it("each may do what its Role says and nothing else", async () => {
    const syncer: [string[], string][] = [
      [["list", "services", "-A"], "yes"],
      [["watch", "endpointslices.discovery.k8s.io", "-A"], "yes"],
      [["get", "nodes/lab-node"], "yes"],
      [["create", "events", "-n", "default"], "yes"],
      [["patch", "events", "-n", "default"], "yes"],
      [["get", "services", "-n", "default"], "no"],
      [["create", "services", "-n", "default"], "no"],
      [["list", "pods", "-A"], "no"],
      [["get", "secrets", "-n", "kube-nftlb"], "no"],
      [["update", "nodes/lab-node", "--subresource=status"], "no"],
    ];
    for (const [args, want] of syncer)
      assert.equal(await can("syncer", ...args), want, `syncer ${args.join(" ")}`);
    const certs: [string[], string][] = [
      [["get", "secrets/kube-nftlb-webhook-tls", "-n", "kube-nftlb"], "yes"],
      [["update", "secrets/kube-nftlb-webhook-tls", "-n", "kube-nftlb"], "yes"],
      [["create", "secrets", "-n", "kube-nftlb"], "yes"],
      [["patch", "mutatingwebhookconfigurations/kube-nftlb"], "yes"],
      [["patch", "validatingwebhookconfigurations/kube-nftlb"], "yes"],
      [["get", "secrets/other", "-n", "kube-nftlb"], "no"],
      [["list", "secrets", "-n", "kube-nftlb"], "no"],
      [["delete", "secrets/kube-nftlb-webhook-tls", "-n", "kube-nftlb"], "no"],
      [["create", "secrets", "-n", "default"], "no"],
      [["patch", "mutatingwebhookconfigurations/other"], "no"],
    ];
    for (const [args, want] of certs)
      assert.equal(await can("certs", ...args), want, `certs ${args.join(" ")}`);
    // docs/operators.md's check, the admin impersonating the syncer
    for (const [args, want] of [
      [["watch", "endpointslices.discovery.k8s.io"], "yes"],
      [["get", "secrets", "-n", "kube-nftlb"], "no"],
    ] as const) {
      const r = await lab.kubectl(["auth", "can-i", ...args, `--as=${SYNCER}`]);
      assert.equal(r.stdout.trim(), want, `--as syncer ${args.join(" ")}`);
    }
    const r = await as("syncer", "get", "secrets", "-n", "kube-nftlb");
    assert.equal(
      r.stderr.trim(),
      `Error from server (Forbidden): secrets is forbidden: User "${SYNCER}" cannot list resource "secrets" in API group "" in the namespace "kube-nftlb"`,
    );
  });

  it("nothing the components asked for was refused, Events included", async () => {
    // kube-system is outside the webhook's namespaceSelector: a bad mode reaches the syncer,
    // which answers with an InvalidServiceConfig Event (its create permission)
    await lab.k(
      ["apply", "-f", "-"],
      `apiVersion: v1
kind: Service
metadata:
  name: odd
  namespace: kube-system
  annotations: { service.kubernetes.io/kube-nftlb-load-balancer-mode: bogus }
spec: { selector: { app: odd }, ports: [{ port: 80 }] }
`,
    );
    await until("the syncer's Event on kube-system/odd", async () => {
      const out = await lab.k(["get", "events", "-n", "kube-system", "-o", "jsonpath={.items[*].reason}"]);
      return out.includes("InvalidServiceConfig");
    });
    // (this file's own kubectl calls are refused on purpose; the components are not kubectl)
    const refused = apiLog.filter((l) => / 40[13] \d+ms /.test(l) && !l.includes('"kubectl/'));
    assert.deepEqual(refused, [], "the components' requests answered 401 or 403");
    assert.ok(
      apiLog.some((l) => l.startsWith("POST /api/v1/namespaces/kube-system/events 201")),
      "the syncer created its Event",
    );
  });

  it("a syncer whose ClusterRoleBinding is gone stays unready, the server's 403 in its log", async () => {
    await lab.k(["delete", "clusterrolebinding", "kube-nftlb-syncer"]);
    const node = lab.cluster.nodes[0]!;
    const log = path.join(lab.dir, "logs", "syncer-unbound.log");
    const args = syncerArgs({
      nodeName: node.name,
      nftlbUrl: node.nftlb.url,
      keyFile: lab.cluster.info.nftlb.keyFile,
      kubeconfig: path.join(lab.dir, "syncer.kubeconfig"),
      nodeRulesSocket: path.join(lab.dir, "node-rules.sock"),
      conntrackSocket: path.join(lab.dir, "conntrack.sock"),
    })
      .filter((a) => !a.startsWith("--metrics-bind-address="))
      // beside the lab's own syncer: other ports (the health port is set in deploy/'s syncer.yaml)
      .concat(["--metrics-bind-address=0.0.0.0:10259", "--healthz-bind-address=0.0.0.0:10266"]);
    extra = startProduct("syncer-unbound", node.ns, args, log);
    const text = `Forbidden: services is forbidden: User \\"${SYNCER}\\" cannot list resource \\"services\\" in API group \\"\\" at the cluster scope (403)`;
    await until("the 403 in the second syncer's log", () => readFileSync(log, "utf8").includes(text), {
      timeoutMs: 30_000,
      detail: () => extra?.tail() ?? "",
    });
    const ip = lab.cluster.info.nodes[0]!.syncer.probes.replace(/:\d+$/, ":10259");
    const ready = await fetch(`${ip}/readyz`);
    assert.equal(ready.status, 503);
    // The 503 names the cache that cannot fill and the server's 403, not a bare "not ready".
    const body = await ready.text();
    assert.ok(body.startsWith("not ready: caches not synced: "), body);
    assert.ok(
      body.includes(`services (Forbidden: services is forbidden: User "${SYNCER}" cannot list`),
      body,
    );
  });
});

describe("certs ensure without its RoleBinding", { skip }, () => {
  it("fails the lab's start with the server's 403 text", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), "kube-nftlb-lab-rbac-"));
    try {
      await assert.rejects(
        startCluster({
          dir,
          skipIdentity: (d) => d.kind === "RoleBinding" && d.metadata?.name === "kube-nftlb-certs",
        }),
        (err: Error) => {
          assert.match(err.message, /kube-nftlb certs ensure failed/);
          assert.ok(
            err.message.includes(
              `secrets "kube-nftlb-webhook-tls" is forbidden: User "${CERTS}" cannot get resource "secrets" in API group "" in the namespace "kube-nftlb"`,
            ),
            err.message,
          );
          return true;
        },
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
