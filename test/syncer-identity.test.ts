// Who the syncer runs as when a test or a bench starts it itself (not through the lab's
// cluster): deploy/'s ServiceAccount with deploy/'s RBAC, as the lab runs it — never the
// stand-in's admin, under whom a missing rule would go unseen. Checked with the real kubectl.
import assert from "node:assert/strict";
import { readFileSync, globSync } from "node:fs";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { startApiServer, type ApiServer } from "../lab/apiserver/index.ts";
import { deploySyncerKubeconfig } from "../lab/cluster/deploy-identities.ts";
import { kubectlWith } from "./kubectl-run.ts";
import { missing } from "./rbac-fixture.ts";
import { syncerConfig } from "./syncer-fixture.ts";
import type { TestNetwork } from "../lab/net/index.ts";

const ROOT = path.join(import.meta.dirname, "..");
const SYNCER = "system:serviceaccount:kube-nftlb:kube-nftlb-syncer";

describe("the syncer's identity outside the lab's cluster", () => {
  let api: ApiServer;
  let dir = "";
  let kubeconfig = "";
  const kubectl = kubectlWith(
    () => kubeconfig,
    () => dir,
  );
  before(async () => {
    dir = mkdtempSync(path.join(tmpdir(), "syncer-identity-"));
    api = await startApiServer();
  });
  after(async () => {
    await api.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it("syncerConfig refuses a stand-in without deploy/'s identities, not falling back to the admin's kubeconfig", () => {
    const net = { nftlb: { url: "http://127.0.0.1:1", key: "k", ns: "none" } } as unknown as TestNetwork;
    assert.throws(() => syncerConfig(net, api), /no syncer identity/);
  });

  it(
    "deploySyncerKubeconfig is the DaemonSet's ServiceAccount, allowed what the syncer does and nothing more",
    { skip: missing },
    async () => {
      kubeconfig = await deploySyncerKubeconfig(api);
      assert.equal(
        (await kubectl("auth", "whoami", "-o", "jsonpath={.status.userInfo.username}")).stdout,
        SYNCER,
      );
      for (const [verb, what, answer] of [
        ["watch", "services", "yes"],
        ["list", "endpointslices.discovery.k8s.io", "yes"],
        ["get", "nodes", "yes"],
        ["create", "events", "yes"],
        ["create", "services", "no"],
        ["get", "secrets", "no"],
      ] as const) {
        const r = await kubectl("auth", "can-i", verb, what, "--all-namespaces");
        assert.equal(r.stdout.trim(), answer, `${verb} ${what}: ${r.stderr}`);
      }
    },
  );

  it("no bench hands a syncer the admin's kubeconfig (api.kubeconfigPath)", () => {
    const offenders = globSync("bench/**/*.ts", { cwd: ROOT }).filter((f) =>
      readFileSync(path.join(ROOT, f), "utf8").includes("kubeconfigPath"),
    );
    assert.deepEqual(offenders, []);
  });
});
