// The informers store slimmed objects (kube/slim.ts). These tests hold that slimming changes
// nothing the syncer computes: the same farms, problems and node rules from desired.ts, the same
// trigger times — and that the corpus is sensitive to every field slim keeps, so a slim that
// dropped one of them would fail here.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { desired, desiredFromEndpoints } from "./desired.ts";
import { triggerTimes } from "./cluster.ts";
import {
  compact,
  Interner,
  LAST_APPLIED_ANNOTATION,
  slimEndpoints,
  slimEndpointSlice,
  slimService,
} from "../kube/slim.ts";
import { TRIGGER_TIME_ANNOTATION } from "../kube/labels.ts";
import { endpointsObject, NODE, service, slice } from "./desired-fixtures.test-helpers.ts";
import type { V1EndpointSlice, V1Service } from "@kubernetes/client-node";

type Obj = Record<string, unknown>;
const PREFIX = "service.kubernetes.io/kube-nftlb-load-balancer-";
const node = { ...NODE, zone: "zone-a" };

/** What the API server adds that the syncer never reads. */
const managed = { manager: "kubectl", operation: "Update", fieldsV1: { "f:spec": { "f:ports": {} } } };

/** A Service using every field desired.ts reads, as the API server returns it. */
const svc = service(
  {
    type: "LoadBalancer",
    clusterIPs: ["10.96.0.10", "fd00::10"],
    ipFamilies: ["IPv4", "IPv6"],
    ports: [
      { name: "http", port: 80, protocol: "TCP", targetPort: "http", nodePort: 30080 },
      { name: "dns", port: 53, protocol: "UDP", targetPort: 5353, nodePort: 30053 },
    ],
    externalIPs: ["203.0.113.7"],
    sessionAffinity: "ClientIP",
    sessionAffinityConfig: { clientIP: { timeoutSeconds: 300 } },
    externalTrafficPolicy: "Local",
    internalTrafficPolicy: "Cluster",
    loadBalancerSourceRanges: ["198.51.100.0/24"],
    selector: { app: "web" },
  },
  {
    uid: "u-1",
    resourceVersion: "41",
    creationTimestamp: "2026-01-02T03:04:05Z",
    generation: 3,
    labels: { app: "web" },
    annotations: {
      [`${PREFIX}scheduler`]: "symhash",
      [`${PREFIX}log`]: "forward",
      [`${PREFIX}schedular`]: "rr",
      [LAST_APPLIED_ANNOTATION]: '{"apiVersion":"v1","kind":"Service"}',
    },
    managedFields: [managed],
    ownerReferences: [{ apiVersion: "v1", kind: "Thing", name: "t", uid: "t-1" }],
  },
  { loadBalancer: { ingress: [{ ip: "198.51.100.9", ipMode: "VIP" }] } },
);

/** Slices with every endpoint shape: conditions, nodes, Pods and not, hints, both families. */
function slices(): Obj[] {
  const v4 = slice(
    "web-v4",
    [
      { ip: "10.0.0.1", pod: "web-1", node: "node-a", ready: true },
      { ip: "10.0.0.2", pod: "web-2", node: "node-b" },
      { ip: "10.0.0.3", node: "node-a", ready: false, serving: true, terminating: true },
      { ip: "10.0.0.4", ready: false, serving: false },
      { ip: "10.0.0.5", pod: "web-5", node: "node-b" },
    ],
    {
      ports: [
        { name: "http", port: 8080, protocol: "TCP" },
        { name: "dns", port: 5353, protocol: "UDP" },
      ],
    },
  );
  const eps = v4.endpoints as Obj[];
  // A targetRef to something that is not a Pod names no backend; zone hints steer topology.
  eps[1]!.targetRef = { kind: "Node", name: "not-a-pod", uid: "n-1" };
  eps.forEach((e, i) => {
    e.hints = { forZones: [{ name: i === 4 ? "zone-b" : "zone-a" }] };
    e.zone = "zone-a";
    e.hostname = "h";
    if (isObj(e.targetRef)) e.targetRef = { ...e.targetRef, uid: "p-uid", resourceVersion: "7" };
  });
  const meta = v4.metadata as Obj;
  meta.annotations = { [TRIGGER_TIME_ANNOTATION]: "2026-01-02T03:04:06Z", other: "x" };
  meta.managedFields = [managed];
  meta.resourceVersion = "42";
  const v6 = slice("web-v6", [{ ip: "fd00::1", pod: "web-1", node: "node-a" }]);
  return [v4, v6];
}

const isObj = (v: unknown): v is Obj => typeof v === "object" && v !== null && !Array.isArray(v);

const slimmed = (pool = new Interner()) => ({
  service: slimService(structuredClone(svc)),
  slices: slices().map((s) => slimEndpointSlice(s as unknown as V1EndpointSlice, pool)),
});

describe("slimmed objects give the syncer what the full ones give", () => {
  test("desired: the same farms, problems and node rules from slim Services and EndpointSlices", () => {
    const s = slimmed();
    const full = desired(svc, slices(), node);
    assert.ok(full.farms.length >= 4, "the corpus programs both ports in both families");
    assert.deepEqual(desired(s.service, s.slices, node), full);
  });

  test("the slices' trigger times, and the Service's uid and creation time, survive", () => {
    const s = slimmed();
    assert.deepEqual(triggerTimes(s.slices), triggerTimes(slices() as unknown as V1EndpointSlice[]));
    assert.equal(triggerTimes(s.slices).size, 1);
    assert.equal(s.service.metadata?.uid, "u-1");
    assert.equal(s.service.metadata?.resourceVersion, "41");
    assert.equal(s.slices[0]?.metadata?.resourceVersion, "42");
  });

  test("v1 Endpoints: the same farms", () => {
    const ep = endpointsObject(
      [{ ip: "10.0.0.1", pod: "web-1", node: "node-a" }, { ip: "10.0.0.2" }],
      [{ ip: "10.0.0.3", pod: "web-3", node: "node-b" }],
    );
    (ep.metadata as Obj).managedFields = [managed];
    const slim = slimEndpoints(structuredClone(ep), new Interner());
    assert.deepEqual(
      desiredFromEndpoints(slimService(structuredClone(svc) as V1Service), [slim], node),
      desiredFromEndpoints(svc, [ep], node),
    );
    assert.equal(JSON.stringify(slim).includes("managedFields"), false);
  });

  test("what the syncer never reads is gone", () => {
    const s = slimmed();
    const text = JSON.stringify(s);
    for (const gone of ["managedFields", "ownerReferences", LAST_APPLIED_ANNOTATION, '"other"', "hostname"])
      assert.equal(text.includes(gone), false, `${gone} is dropped`);
    assert.equal(text.includes('"zone"'), false, "an endpoint's zone is dropped (hints are kept)");
    assert.equal(text.includes("p-uid"), false, "targetRef keeps kind and name only");
  });

  test("the corpus depends on every field slim keeps (a slim dropping one would fail above)", () => {
    const base = JSON.stringify(desired(svc, slices(), node));
    const without = (edit: (svc: Obj, slices: Obj[]) => void) => {
      const s = structuredClone(svc);
      const sl = slices();
      edit(s, sl);
      return JSON.stringify(desired(s, sl, node));
    };
    const ep = (sl: Obj[], i: number) => (sl[0]!.endpoints as Obj[])[i]!;
    const edits: Record<string, (s: Obj, sl: Obj[]) => void> = {
      "Service annotations": (s) => delete (s.metadata as Obj).annotations,
      "Service creationTimestamp": (s) => delete (s.metadata as Obj).creationTimestamp,
      "Service status": (s) => delete s.status,
      "Service spec.externalTrafficPolicy": (s) => delete (s.spec as Obj).externalTrafficPolicy,
      "slice addressType": (_, sl) => delete sl[1]!.addressType,
      "slice ports": (_, sl) => delete sl[0]!.ports,
      "slice labels": (_, sl) => delete (sl[1]!.metadata as Obj).labels,
      "endpoint conditions": (_, sl) => delete ep(sl, 3).conditions,
      "endpoint nodeName": (_, sl) => delete ep(sl, 0).nodeName,
      "endpoint targetRef name": (_, sl) => delete (ep(sl, 0).targetRef as Obj).name,
      "endpoint targetRef kind": (_, sl) => ((ep(sl, 1).targetRef as Obj).kind = "Pod"),
      "endpoint hints": (_, sl) => (sl[0]!.endpoints as Obj[]).forEach((e) => delete e.hints),
    };
    for (const [field, edit] of Object.entries(edits))
      assert.notEqual(without(edit), base, `desired depends on ${field}`);
  });
});

test("compact: a deep copy equal in every field (the desired memo keeps one)", () => {
  const d = desired(svc, slices(), node);
  const c = compact(d);
  assert.deepStrictEqual(c, d);
  assert.notEqual(c.farms[0], d.farms[0]);
  const withUndefined = { a: undefined, b: [1, { c: undefined }], d: new Date(0) };
  assert.deepStrictEqual(compact(withUndefined), withUndefined);
});

describe("Interner", () => {
  test("shares equal values, frozen, and stops sharing past its bound", () => {
    const pool = new Interner(2);
    const a = pool.value({ ready: true });
    assert.equal(pool.value({ ready: true }), a);
    assert.ok(Object.isFrozen(a));
    assert.equal(pool.string("node-a"), "node-a");
    const fresh = { ready: false };
    assert.equal(pool.value(fresh), fresh, "past the bound a value is returned as it is");
    assert.equal(pool.size, 2);
    assert.equal(pool.value(undefined), undefined);
  });

  test("slices share their conditions and port lists", () => {
    const pool = new Interner();
    const [a, b] = [slimmed(pool).slices[0]!, slimmed(pool).slices[0]!];
    assert.equal(a.endpoints?.[0]?.conditions, b.endpoints?.[0]?.conditions);
    assert.notEqual(a.endpoints?.[0]?.conditions, undefined);
    assert.equal(a.ports, b.ports);
  });
});
