/* eslint-disable @typescript-eslint/no-unsafe-member-access, @typescript-eslint/no-unsafe-assignment, @typescript-eslint/no-unsafe-argument, @typescript-eslint/no-unsafe-call -- API objects from the wire are plain JSON */
// The four patch types on the wire: JSON Patch, merge patch, strategic merge patch (merge keys,
// $patch directives, $setElementOrder), server-side apply (ownership, conflicts, force, removal),
// resourceVersion preconditions, dry-run, and the errors each returns.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { request } from "../lab/apiserver/client.ts";
import { startApiServer, type ApiServer } from "../lab/apiserver/index.ts";

let api: ApiServer;
before(async () => {
  api = await startApiServer();
});
after(async () => api.stop());

const SVCS = "/api/v1/namespaces/default/services";
const JSONPATCH = "application/json-patch+json";
const MERGE = "application/merge-patch+json";
const SMP = "application/strategic-merge-patch+json";
const APPLY = "application/apply-patch+yaml";
const patch = (name: string, contentType: string, body: unknown, q = "") =>
  request(api, "PATCH", `${SVCS}/${name}${q}`, { body, contentType });
const make = (name: string) =>
  request(api, "POST", SVCS, {
    body: {
      apiVersion: "v1",
      kind: "Service",
      metadata: { name, labels: { a: "1" } },
      spec: {
        ports: [
          { name: "http", port: 80 },
          { name: "https", port: 443 },
        ],
      },
    },
  });

describe("patch", () => {
  it("applies a JSON Patch, and answers a failing test op with 422", async () => {
    await make("jp");
    const ok = await patch("jp", JSONPATCH, [{ op: "replace", path: "/spec/ports/1/port", value: 8443 }]);
    assert.equal(ok.status, 200, ok.text);
    assert.equal(ok.json.spec.ports[1].port, 8443);
    const bad = await patch("jp", JSONPATCH, [{ op: "test", path: "/metadata/labels/a", value: "2" }]);
    assert.equal(bad.status, 422);
    assert.equal(bad.json.reason, "Invalid");
  });

  it("applies a merge patch: null deletes, lists replace", async () => {
    await make("mp");
    const r = await patch("mp", MERGE, {
      metadata: { labels: { a: null, b: "2" } },
      spec: { ports: [{ name: "only", port: 81 }] },
    });
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(r.json.metadata.labels, { b: "2" });
    assert.deepEqual(
      r.json.spec.ports.map((p: { port: number }) => p.port),
      [81],
    );
  });

  it("merges Service ports by port in a strategic merge patch, with $patch delete and $setElementOrder", async () => {
    await make("smp");
    const r = await patch("smp", SMP, {
      spec: {
        "$setElementOrder/ports": [{ port: 443 }, { port: 80 }, { port: 9000 }],
        ports: [
          { port: 80, targetPort: 8080 },
          { name: "metrics", port: 9000 },
        ],
      },
    });
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(
      r.json.spec.ports.map(
        (p: { name: string; port: number; targetPort: number }) => `${p.name}:${p.port}->${p.targetPort}`,
      ),
      ["https:443->443", "http:80->8080", "metrics:9000->9000"],
    );
    const del = await patch("smp", SMP, { spec: { ports: [{ port: 443, $patch: "delete" }] } });
    assert.deepEqual(
      del.json.spec.ports.map((p: { port: number }) => p.port),
      [80, 9000],
    );
    const rep = await patch("smp", SMP, { spec: { ports: [{ $patch: "replace" }, { name: "x", port: 1 }] } });
    assert.deepEqual(
      rep.json.spec.ports.map((p: { port: number }) => p.port),
      [1],
    );
  });

  it("checks a resourceVersion carried in a patch", async () => {
    await make("rv");
    const r = await patch("rv", MERGE, { metadata: { resourceVersion: "1", labels: { x: "y" } } });
    assert.equal(r.status, 409);
    assert.equal(r.json.reason, "Conflict");
  });

  it("answers a patch of a missing object with 404 and a bad patch body with 400", async () => {
    assert.equal((await patch("none", MERGE, {})).status, 404);
    const bad = await request(api, "PATCH", `${SVCS}/jp`, { body: "{nope", contentType: MERGE });
    assert.equal(bad.status, 400);
    assert.match(bad.json.message, /^error decoding patch/);
  });

  it("dry-runs a patch without storing it", async () => {
    const before = (await request(api, "GET", `${SVCS}/mp`)).json;
    const r = await patch("mp", MERGE, { metadata: { labels: { dry: "yes" } } }, "?dryRun=All");
    assert.equal(r.json.metadata.labels.dry, "yes");
    const afterGet = (await request(api, "GET", `${SVCS}/mp`)).json;
    assert.equal(afterGet.metadata.resourceVersion, before.metadata.resourceVersion);
    assert.equal(afterGet.metadata.labels.dry, undefined);
  });
});

describe("server-side apply", () => {
  const cfg = (port: number, extra = "") => `apiVersion: v1
kind: Service
metadata:
  name: ssa
spec:
  ports:
  - name: http
    port: 80
    targetPort: ${port}${extra}
`;
  it("creates, records ownership in managedFields, and requires a fieldManager", async () => {
    const none = await patch("ssa", APPLY, cfg(8080));
    assert.equal(none.status, 422, "ValidatePatchOptions: fieldManager Required");
    const r = await patch("ssa", APPLY, cfg(8080), "?fieldManager=alice");
    assert.equal(r.status, 201, r.text);
    const mf = r.json.metadata.managedFields;
    assert.equal(mf.length, 1);
    assert.equal(mf[0].manager, "alice");
    assert.equal(mf[0].operation, "Apply");
    assert.ok(mf[0].fieldsV1["f:spec"]["f:ports"]['k:{"port":80,"protocol":"TCP"}']["f:targetPort"]);
  });

  it("reports a conflict with another manager's field, and takes it over with force", async () => {
    const c = await patch("ssa", APPLY, cfg(9090), "?fieldManager=bob");
    assert.equal(c.status, 409);
    assert.equal(
      c.json.message,
      'Apply failed with 1 conflict: conflict with "alice": .spec.ports[port=80,protocol="TCP"].targetPort',
    );
    assert.deepEqual(c.json.details.causes, [
      {
        reason: "FieldManagerConflict",
        message: 'conflict with "alice"',
        field: '.spec.ports[port=80,protocol="TCP"].targetPort',
      },
    ]);
    const f = await patch("ssa", APPLY, cfg(9090), "?fieldManager=bob&force=true");
    assert.equal(f.status, 200, f.text);
    assert.equal(f.json.spec.ports[0].targetPort, 9090);
  });

  it("names an Update manager with its apiVersion in conflicts", async () => {
    await patch("ssa", MERGE, { spec: { sessionAffinity: "ClientIP" } }, "?fieldManager=carol");
    const c = await patch("ssa", APPLY, cfg(9090, "\n  sessionAffinity: None"), "?fieldManager=bob");
    assert.equal(c.status, 409);
    assert.match(c.json.message, /conflict with "carol" using v1: \.spec\.sessionAffinity$/);
  });

  it("removes a field its manager stops applying when nobody else owns it", async () => {
    await patch("ssa", APPLY, cfg(9090, "\n  externalIPs: [192.0.2.1]"), "?fieldManager=bob");
    const got = (await request(api, "GET", `${SVCS}/ssa`)).json;
    assert.deepEqual(got.spec.externalIPs, ["192.0.2.1"]);
    const r = await patch("ssa", APPLY, cfg(9090), "?fieldManager=bob");
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.spec.externalIPs, undefined);
  });

  it("refuses force on other patch types", async () => {
    const r = await patch("ssa", MERGE, {}, "?force=true");
    assert.equal(r.status, 422, "ValidatePatchOptions: force Forbidden");
  });
});
