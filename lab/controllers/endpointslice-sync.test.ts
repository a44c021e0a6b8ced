import { describe, it } from "node:test";
import assert from "node:assert/strict";
import {
  planSlices,
  MANAGED_BY,
  MANAGED_BY_LABEL,
  SERVICE_NAME_LABEL,
  TRIGGER_TIME,
  type SliceObject,
} from "./endpointslice-sync.ts";
import type { SliceSpec } from "./endpointslices.ts";

const svc = { metadata: { name: "web", namespace: "shop", uid: "svc-uid" } };
const T = "2026-01-01T00:00:00.000Z";
const spec = (ips: string[], port = 8080): SliceSpec => ({
  addressType: "IPv4",
  ports: [{ name: "http", protocol: "TCP", port }],
  endpoints: ips.map((ip) => ({
    addresses: [ip],
    conditions: { ready: true, serving: true, terminating: false },
    targetRef: { kind: "Pod", name: ip, namespace: "shop" },
  })),
});
/** What the API would hold after applying a create of `s` named `name`. */
const stored = (name: string, s: SliceSpec): SliceObject => {
  const [op] = planSlices(svc, [s], [], T);
  assert.equal(op?.op, "create");
  const body = op.body;
  return { ...body, metadata: { ...body.metadata, name, resourceVersion: "7", generateName: "web-" } };
};

describe("planSlices", () => {
  it("creates a slice as the real controller writes it", () => {
    const [op, ...rest] = planSlices(svc, [spec(["10.0.0.1"])], [], T);
    assert.equal(rest.length, 0);
    assert.ok(op?.op === "create");
    const m = op.body.metadata;
    assert.equal(m.generateName, "web-");
    assert.equal(m.namespace, "shop");
    assert.equal(m.labels?.[SERVICE_NAME_LABEL], "web");
    assert.equal(m.labels?.[MANAGED_BY_LABEL], MANAGED_BY);
    assert.equal(m.annotations?.[TRIGGER_TIME], T);
    assert.deepEqual(m.ownerReferences, [
      {
        apiVersion: "v1",
        kind: "Service",
        name: "web",
        uid: "svc-uid",
        controller: true,
        blockOwnerDeletion: true,
      },
    ]);
    assert.equal(op.body.addressType, "IPv4");
  });
  it("writes nothing when the API already holds the desired slices", () => {
    assert.deepEqual(planSlices(svc, [spec(["10.0.0.1"])], [stored("web-abc", spec(["10.0.0.1"]))], T), []);
  });
  it("updates the existing slice in place when endpoints change, keeping name and resourceVersion", () => {
    const ops = planSlices(svc, [spec(["10.0.0.1", "10.0.0.2"])], [stored("web-abc", spec(["10.0.0.1"]))], T);
    assert.equal(ops.length, 1);
    assert.ok(ops[0]?.op === "update");
    assert.equal(ops[0].name, "web-abc");
    assert.equal(ops[0].body.metadata.resourceVersion, "7");
    assert.equal(ops[0].body.metadata.generateName, "web-", "an update keeps generateName");
    assert.equal(ops[0].body.endpoints?.length, 2);
  });
  it("a port change reshapes: new slice created, old deleted", () => {
    const ops = planSlices(svc, [spec(["10.0.0.1"], 9090)], [stored("web-abc", spec(["10.0.0.1"]))], T);
    assert.deepEqual(
      ops.map((o) => o.op),
      ["create", "delete"],
    );
  });
  it("no endpoints: one empty placeholder slice", () => {
    const ops = planSlices(svc, [], [], T);
    assert.equal(ops.length, 1);
    assert.ok(ops[0]?.op === "create");
    assert.deepEqual(ops[0].body.endpoints, []);
  });
  it("a Service without selector is left alone; a deleted Service loses only our slices", () => {
    const mirrored: SliceObject = { metadata: { name: "other", labels: { [SERVICE_NAME_LABEL]: "web" } } };
    assert.deepEqual(planSlices(svc, undefined, [stored("web-abc", spec(["10.0.0.1"])), mirrored], T), []);
    assert.deepEqual(planSlices(undefined, undefined, [stored("web-abc", spec(["10.0.0.1"])), mirrored], T), [
      { op: "delete", name: "web-abc" },
    ]);
  });
  it("surplus slices are deleted", () => {
    const ops = planSlices(
      svc,
      [spec(["10.0.0.1"])],
      [stored("web-a", spec(["10.0.0.1"])), stored("web-b", spec(["10.0.0.2"]))],
      T,
    );
    assert.deepEqual(ops, [{ op: "delete", name: "web-b" }]);
  });
});
