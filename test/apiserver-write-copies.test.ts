// The write pipeline (lab/apiserver/write.ts) copies an object only where a copy is needed: what
// the writer sent is kept apart from what allocation adds (its Update entry must not own the
// ClusterIP, which kube-apiserver allocates after recording ownership), and every version stored
// stays as it was when later writes build on it (an exact-revision list still reads it).
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { request } from "../lab/apiserver/client.ts";
import { startApiServer, type ApiServer } from "../lab/apiserver/index.ts";

let api: ApiServer;
before(async () => {
  api = await startApiServer({ serviceCidr: "10.0.0.0/28" });
});
after(async () => api.stop());

const SVCS = "/api/v1/namespaces/default/services";
const svc = (name: string, port: number) => ({
  apiVersion: "v1",
  kind: "Service",
  metadata: { name },
  spec: { ports: [{ port }] },
});
/** A Service as the wire gives it, as far as these tests read it. */
interface Svc {
  metadata: {
    name: string;
    resourceVersion: string;
    labels?: Record<string, string>;
    managedFields: { manager: string; fieldsV1: unknown }[];
  };
  spec: { clusterIP: string; ports: unknown[] };
  status?: unknown;
}
const ok = async <T = Svc>(method: string, path: string, body?: unknown, contentType?: string) => {
  const r = await request(api, method, path, { body, ...(contentType ? { contentType } : {}) });
  assert.ok(r.status < 300, `${method} ${path}: ${r.status} ${r.text}`);
  return r.json as T;
};
const fields = (o: Svc, manager: string) =>
  JSON.stringify(o.metadata.managedFields.find((e) => e.manager === manager)?.fieldsV1 ?? null);

describe("the write pipeline's copies", () => {
  it("a POST without a mutating webhook: the creator owns its ports, not the ClusterIP allocated after", async () => {
    const made = await ok("POST", `${SVCS}?fieldManager=creator`, svc("plain", 80));
    assert.match(made.spec.clusterIP, /^10\.0\.0\./);
    const owned = fields(made, "creator");
    assert.ok(owned.includes('"f:ports"'), owned);
    assert.ok(!owned.includes("f:clusterIP"), owned);
    assert.equal(fields(await ok("GET", `${SVCS}/plain`), "creator"), owned);
  });

  it("a PUT without a mutating webhook: the updater owns the port it changed, not the ClusterIP", async () => {
    const live = await ok("GET", `${SVCS}/plain`);
    const next = { ...live, spec: { ...live.spec, ports: [{ port: 81, protocol: "TCP" }] } };
    const put = await ok("PUT", `${SVCS}/plain?fieldManager=updater`, next);
    assert.equal(put.spec.clusterIP, live.spec.clusterIP);
    const owned = fields(put, "updater");
    assert.ok(owned.includes('"f:port"'), owned);
    assert.ok(!owned.includes("f:clusterIP"), owned);
  });

  it("each stored version is left as it was by the writes after it (create, update, status, patch)", async () => {
    const created = await ok("POST", SVCS, svc("versions", 80));
    const versions = [created];
    const put = { ...created, spec: { ...created.spec, ports: [{ port: 81, protocol: "TCP" }] } };
    versions.push(await ok("PUT", `${SVCS}/versions`, put));
    const condition = {
      type: "Checked",
      status: "True",
      lastTransitionTime: "2026-01-01T00:00:00Z",
      reason: "Test",
      message: "",
    };
    const status = { ...versions[1], status: { conditions: [condition] } };
    versions.push(await ok("PUT", `${SVCS}/versions/status`, status));
    versions.push(
      await ok(
        "PATCH",
        `${SVCS}/versions`,
        { metadata: { labels: { v: "4" } } },
        "application/merge-patch+json",
      ),
    );
    for (const v of versions) {
      const at = await ok<{ items: Svc[] }>(
        "GET",
        `${SVCS}?resourceVersion=${v.metadata.resourceVersion}&resourceVersionMatch=Exact`,
      );
      const then = at.items.find((o) => o.metadata.name === "versions")!;
      assert.deepEqual(
        {
          rv: then.metadata.resourceVersion,
          spec: then.spec,
          status: then.status,
          labels: then.metadata.labels,
        },
        { rv: v.metadata.resourceVersion, spec: v.spec, status: v.status, labels: v.metadata.labels },
        `the version at ${v.metadata.resourceVersion}`,
      );
    }
  });
});
