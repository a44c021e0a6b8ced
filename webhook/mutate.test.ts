import { test } from "node:test";
import assert from "node:assert/strict";
import jsonpatch from "fast-json-patch";
import { parseDefaults, type ClusterDefaults } from "../annotations/index.ts";
import { escapePointer, mutate } from "./mutate.ts";
import { validate } from "./validate.ts";
import type { AdmissionResponse, JsonPatchOp } from "./review.ts";
import { key, request, service } from "./review-fixtures.test-helpers.ts";

const ops = (r: AdmissionResponse): JsonPatchOp[] => {
  assert.equal(r.patchType, "JSONPatch");
  return JSON.parse(Buffer.from(r.patch ?? "", "base64").toString()) as JsonPatchOp[];
};

/** Apply as kube-apiserver does: RFC 6902 on the raw object, validating every operation. */
const apply = (object: unknown, r: AdmissionResponse): Record<string, unknown> =>
  r.patch === undefined
    ? (structuredClone(object) as Record<string, unknown>)
    : (jsonpatch.applyPatch(structuredClone(object), ops(r) as jsonpatch.Operation[], true, false)
        .newDocument as Record<string, unknown>);

const builtins = {
  [key("mode")]: "snat",
  [key("scheduler")]: "rr",
  [key("helper")]: "none",
  [key("log")]: "none",
};

test("mutate creates metadata.annotations in one add when it is absent", () => {
  const r = mutate(request(service(), { uid: "m1" }));
  assert.equal(r.uid, "m1");
  assert.equal(r.allowed, true);
  assert.deepEqual(ops(r), [{ op: "add", path: "/metadata/annotations", value: builtins }]);
});

test("mutate replaces a null annotations map in one add", () => {
  const r = mutate(request(service({ annotations: null })));
  assert.deepEqual(ops(r), [{ op: "add", path: "/metadata/annotations", value: builtins }]);
});

test("mutate adds each missing key with / escaped as ~1 and keeps other annotations", () => {
  const r = mutate(request(service({ annotations: { "example.com/team": "a" } })));
  assert.deepEqual(
    ops(r).map((o) => o.path),
    ["mode", "scheduler", "helper", "log"].map(
      (k) => `/metadata/annotations/service.kubernetes.io~1kube-nftlb-load-balancer-${k}`,
    ),
  );
  assert.ok(ops(r).every((o) => o.op === "add"));
});

test("escapePointer escapes ~ before /", () => {
  assert.equal(escapePointer("a/b~c"), "a~1b~0c");
  assert.equal(escapePointer("~1"), "~01");
});

test("mutate never overwrites a user's value, even an invalid one", () => {
  const annotations = { [key("mode")]: "dnat", [key("scheduler")]: "ROUNDROBIN" };
  const r = mutate(request(service({ annotations })));
  assert.deepEqual(
    ops(r).map((o) => [o.path.split("-").at(-1), o.value]),
    [
      ["helper", "none"],
      ["log", "none"],
    ],
  );
});

test("mutate never writes persistence, whatever sessionAffinity says", () => {
  const spec = { ports: [{ port: 80 }], sessionAffinity: "ClientIP" };
  const after = apply(service({ spec }), mutate(request(service({ spec }))));
  const annotations = (after.metadata as { annotations: Record<string, string> }).annotations;
  assert.equal(key("persistence") in annotations, false);
  assert.deepEqual(annotations, builtins);
});

test("mutate is idempotent: a second call on the patched object patches nothing", () => {
  for (const annotations of [undefined, null, {}, { "example.com/x": "y" }, { [key("log")]: "output" }]) {
    const once = apply(service({ annotations }), mutate(request(service({ annotations }))));
    const again = mutate(request(once, { uid: "again" }));
    assert.deepEqual(again, { uid: "again", allowed: true });
  }
});

test("mutate writes the cluster defaults it is given", () => {
  const parsed = parseDefaults({ scheduler: "symhash", mode: "dnat", log: "output" });
  assert.ok(parsed.ok);
  const r = mutate(request(service()), { defaults: parsed.defaults });
  assert.deepEqual(ops(r)[0]?.value, {
    [key("mode")]: "dnat",
    [key("scheduler")]: "symhash",
    [key("helper")]: "none",
    [key("log")]: "output",
  });
});

test("a cluster helper default the Service's protocol cannot use is written as none", () => {
  const defaults: ClusterDefaults = { mode: "snat", scheduler: "rr", helper: "ftp", log: "none" };
  const tcp = ops(mutate(request(service()), { defaults }))[0]?.value as Record<string, string>;
  assert.equal(tcp[key("helper")], "ftp");
  const udpSpec = { ports: [{ port: 69, protocol: "UDP" }] };
  const udp = ops(mutate(request(service({ spec: udpSpec })), { defaults }))[0]?.value as Record<
    string,
    string
  >;
  assert.equal(udp[key("helper")], "none");
});

test("Services kube-nftlb does not balance get no defaults", () => {
  const specs = [
    { clusterIP: "None", ports: [{ port: 80 }] },
    { type: "ExternalName", externalName: "example.com" },
    { ports: [] },
  ];
  for (const spec of specs)
    assert.deepEqual(mutate(request(service({ spec }), { uid: "h" })), { uid: "h", allowed: true });
  const other = service({ labels: { "service.kubernetes.io/service-proxy-name": "cilium" } });
  assert.deepEqual(mutate(request(other, { uid: "o" })), { uid: "o", allowed: true });
});

test("alongside kube-proxy, only Services labelled for kube-nftlb get defaults", () => {
  const scope = { proxyName: "kube-nftlb", mode: "alongside" as const };
  assert.deepEqual(mutate(request(service(), { uid: "a" }), { scope }), { uid: "a", allowed: true });
  const ours = service({ labels: { "service.kubernetes.io/service-proxy-name": "kube-nftlb" } });
  assert.deepEqual(ops(mutate(request(ours), { scope }))[0]?.value, builtins);
});

test("the patch applies cleanly and leaves every field we do not model untouched", () => {
  const cases = [
    service({
      extra: { status: { loadBalancer: {} }, x_future: { nested: [1, 2] } },
      metadataExtra: { finalizers: ["f"] },
    }),
    service({
      annotations: { "a/b~c": "1" },
      metadataExtra: { managedFields: [{ manager: "kubectl", fieldsV1: {} }] },
    }),
    service({
      spec: {
        ports: [{ port: 80, appProtocol: "http", x: 1 }],
        ipFamilies: ["IPv4"],
        unknownSpecField: true,
      },
    }),
  ];
  for (const object of cases) {
    const after = apply(object, mutate(request(object)));
    const { annotations, ...restMeta } = after.metadata as Record<string, unknown>;
    const { annotations: before = {}, ...restBefore } = object.metadata as Record<string, unknown>;
    assert.deepEqual(restMeta, restBefore);
    assert.deepEqual({ ...after, metadata: undefined }, { ...object, metadata: undefined });
    assert.deepEqual(annotations, { ...(before as object), ...builtins });
  }
});

test("mutate then validate is accepted for every valid starting point", () => {
  const starts = [
    service(),
    service({ annotations: { [key("scheduler")]: "hash-srcip" } }),
    service({ annotations: { [key("helper")]: "tftp" }, spec: { ports: [{ port: 69, protocol: "UDP" }] } }),
    service({
      spec: {
        ports: [
          { port: 53, protocol: "UDP" },
          { port: 53, protocol: "TCP" },
        ],
      },
    }),
  ];
  for (const object of starts) {
    const after = apply(object, mutate(request(object)));
    assert.deepEqual(validate(request(after, { uid: "v" })), { uid: "v", allowed: true });
  }
});

test("mutate answers DELETE and other kinds without a patch", () => {
  assert.deepEqual(mutate(request(null, { operation: "DELETE", uid: "d" })), { uid: "d", allowed: true });
  const pod = mutate(request({ kind: "Pod", metadata: {} }, { kind: "Pod" }));
  assert.equal(pod.allowed, true);
  assert.equal(pod.patch, undefined);
});

// kube-apiserver's mutating dispatcher turns allowed:false into a rejection, which failurePolicy
// Ignore does not cover: a Service mutate cannot read would be refused outright. The validating
// webhook judges it; mutate admits it unpatched and says why.
test("mutate admits a Service it cannot read, unpatched, with the reason as a warning", () => {
  const bad = mutate(request(service({ spec: { ports: "80" } }), { uid: "u" }));
  assert.equal(bad.allowed, true);
  assert.equal(bad.patch, undefined);
  assert.equal(bad.status, undefined);
  assert.equal(bad.uid, "u");
  assert.equal(bad.warnings?.length, 1);
  assert.match(
    bad.warnings?.[0] ?? "",
    /^kube-nftlb wrote no defaults \(400 BadRequest\): not a valid Service at spec\.ports/,
  );
});
