/* eslint-disable @typescript-eslint/no-unsafe-member-access, @typescript-eslint/no-unsafe-argument, @typescript-eslint/no-unsafe-call, @typescript-eslint/no-unsafe-return, @typescript-eslint/no-explicit-any -- results are plain JSON from the Python client */
// Server-side apply's shared ownership (kubectl --server-side with two field managers) and the
// resourceVersion semantics of list (Python client): exact reads, too-large versions, compacted
// versions and continue tokens that are snapshots.
import assert from "node:assert/strict";

import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { startApiServer, type ApiServer } from "../lab/apiserver/index.ts";
import { pythonMissing, runPython } from "./kube-python.ts";
import { KUBECTL, kubectlWith } from "./kubectl-run.ts";

const missing = existsSync(KUBECTL) ? pythonMissing : `kubectl is not installed at ${KUBECTL}`;

let api: ApiServer;
let dir: string;
const py = (code: string) => runPython(api.kubeconfigPath, code);

const kubectl = kubectlWith(
  () => api.kubeconfigPath,
  () => dir,
);

function apply(manager: string, name: string, yaml: string) {
  const p = join(dir, name);
  writeFileSync(p, yaml);
  return kubectl("apply", "--server-side", `--field-manager=${manager}`, "-f", p);
}

describe("server-side apply ownership and list resourceVersions", { skip: missing }, () => {
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "apiserver-ssa-list-"));
    api = await startApiServer({ historySize: 50 });
  });
  after(async () => {
    await api.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it("a manager applying a value already there co-owns it: the first manager dropping it keeps it", async () => {
    const cm = (data: string) =>
      `apiVersion: v1\nkind: ConfigMap\nmetadata: {name: shared}\ndata: {${data}}\n`;
    assert.equal((await apply("alice", "a1.yaml", cm("a: '1', b: '2'"))).code, 0);
    const bob = await apply("bob", "b1.yaml", cm("a: '1'"));
    assert.equal(bob.code, 0, bob.stderr);
    const owners = await kubectl("get", "configmap", "shared", "-o", "json", "--show-managed-fields");
    const managers = (
      JSON.parse(owners.stdout) as { metadata: { managedFields: { manager: string }[] } }
    ).metadata.managedFields.map((m) => m.manager);
    assert.deepEqual(managers.sort(), ["alice", "bob"]);
    assert.equal((await apply("alice", "a2.yaml", cm("b: '2'"))).code, 0);
    const got = await kubectl("get", "configmap", "shared", "-o", "jsonpath={.data}");
    assert.deepEqual(JSON.parse(got.stdout), { a: "1", b: "2" });
  });

  it("an apply configuration carrying managedFields is a 400, not a 500", async () => {
    const yaml = `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: mf\n  managedFields: [{manager: x}]\n`;
    const r = await apply("carol", "mf.yaml", yaml);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /Error from server \(BadRequest\).*metadata\.managedFields must be nil/);
  });

  it("lists at an exact resourceVersion, refuses a too-large one (504) and a compacted one (410)", async () => {
    const out = await py(`
def cm(name, v):
    return {"metadata": {"name": name}, "data": {"v": v}}
v1.create_namespaced_config_map("default", cm("rv-a", "1"))
before = v1.list_namespaced_config_map("default").metadata.resource_version
v1.patch_namespaced_config_map("rv-a", "default", {"data": {"v": "2"}})
v1.create_namespaced_config_map("default", cm("rv-b", "1"))
exact = call(v1.list_namespaced_config_map, "default", resource_version=before, resource_version_match="Exact")
out["exact"] = exact
out["before"] = before
out["latest"] = call(v1.list_namespaced_config_map, "default", resource_version=before, resource_version_match="NotOlderThan")
out["large"] = call(v1.list_namespaced_config_map, "default", resource_version=str(int(before) + 100000))
out["nomatch"] = call(v1.list_namespaced_config_map, "default", resource_version_match="Exact")
out["exact0"] = call(v1.list_namespaced_config_map, "default", resource_version="0", resource_version_match="Exact")
`);
    const data = (r: any) =>
      Object.fromEntries(
        r.object.items
          .filter((i: any) => i.metadata.name.startsWith("rv-"))
          .map((i: any) => [i.metadata.name, i.data.v]),
      );
    assert.equal(out.exact.status, 200);
    assert.equal(out.exact.object.metadata.resourceVersion, out.before);
    assert.deepEqual(data(out.exact), { "rv-a": "1" });
    assert.deepEqual(data(out.latest), { "rv-a": "2", "rv-b": "1" });
    assert.equal(out.large.status, 504);
    assert.equal(out.large.body.reason, "Timeout");
    assert.match(out.large.body.message, /^Timeout: Too large resource version: \d+, current: \d+$/);
    assert.equal(out.large.body.details.causes[0].reason, "ResourceVersionTooLarge");
    assert.equal(out.nomatch.status, 422);
    assert.equal(
      out.nomatch.body.message,
      'ListOptions.meta.k8s.io "" is invalid: resourceVersionMatch: Forbidden: resourceVersionMatch is forbidden unless resourceVersion is provided',
    );
    assert.equal(out.exact0.status, 422);
    api.faults.expireWatches();
    const old = await py(`
out["gone"] = call(v1.list_namespaced_config_map, "default", resource_version="${out.before}", resource_version_match="Exact")
`);
    assert.equal(old.gone.status, 410);
    assert.equal(old.gone.body.message, "The resourceVersion for the provided list is too old.");
  });

  it("continue tokens page through a snapshot: later writes do not show up", async () => {
    const out = await py(`
for i in range(4):
    v1.create_namespaced_config_map("kube-public", {"metadata": {"name": "page-%d" % i}, "data": {"v": "old"}})
first = v1.list_namespaced_config_map("kube-public", limit=2)
v1.patch_namespaced_config_map("page-3", "kube-public", {"data": {"v": "new"}})
v1.create_namespaced_config_map("kube-public", {"metadata": {"name": "page-9"}})
v1.delete_namespaced_config_map("page-2", "kube-public")
rest = v1.list_namespaced_config_map("kube-public", limit=10, _continue=first.metadata._continue)
out["first"] = [i.metadata.name for i in first.items]
out["rest"] = [[i.metadata.name, (i.data or {}).get("v")] for i in rest.items]
out["rv"] = [first.metadata.resource_version, rest.metadata.resource_version]
out["withRv"] = call(v1.list_namespaced_config_map, "kube-public", _continue=first.metadata._continue, resource_version="5")
`);
    assert.deepEqual(out.first, ["page-0", "page-1"]);
    assert.deepEqual(out.rest, [
      ["page-2", "old"],
      ["page-3", "old"],
    ]);
    assert.equal(out.rv[0], out.rv[1]);
    assert.equal(out.withRv.status, 400);
    assert.equal(out.withRv.body.message, "specifying resource version is not allowed when using continue");
  });
});
