import { test } from "node:test";
import assert from "node:assert/strict";
import { validate } from "./validate.ts";
import { key, request, service } from "./review-fixtures.test-helpers.ts";

const udp = {
  type: "ClusterIP",
  clusterIP: "10.96.0.11",
  ports: [{ name: "dns", protocol: "UDP", port: 53 }],
};

const refused: [string, Record<string, unknown>, Record<string, unknown> | undefined, RegExp[]][] = [
  [
    "upper-case mode",
    { [key("mode")]: "SNAT" },
    undefined,
    [/mode: invalid value "SNAT"; did you mean "snat"\?/],
  ],
  ["leading space", { [key("scheduler")]: " rr" }, undefined, [/did you mean "rr"\?/]],
  [
    "empty value",
    { [key("log")]: "" },
    undefined,
    [/log: invalid value ""/, /Valid values: none, output, forward/],
  ],
  [
    "unknown key",
    { [key("schedular")]: "rr" },
    undefined,
    [/unknown kube-nftlb annotation; did you mean ".*-scheduler"/],
  ],
  ["bad persistence", { [key("persistence")]: "srcip srcport" }, undefined, [/did you mean "srcip-srcport"/]],
  ["unimplemented helper", { [key("helper")]: "irc" }, undefined, [/never implemented/]],
  ["ftp on UDP", { [key("helper")]: "ftp" }, udp, [/helper "ftp" works on TCP only, but port dns\/UDP/]],
  ["snmp on TCP", { [key("helper")]: "snmp" }, undefined, [/helper "snmp" works on UDP only/]],
  ["non-string value", { [key("mode")]: 5 }, undefined, [/must be a string/]],
];

for (const [name, annotations, spec, patterns] of refused) {
  test(`validate refuses ${name} with 403 Forbidden and says what is right`, () => {
    const r = validate(request(service({ annotations, spec }), { uid: "u-1" }));
    assert.equal(r.uid, "u-1");
    assert.equal(r.allowed, false);
    assert.equal(r.status?.code, 403);
    assert.equal(r.status?.reason, "Forbidden");
    assert.match(r.status?.message ?? "", /^Service shop\/web has an invalid kube-nftlb setting: /);
    for (const p of patterns) assert.match(r.status?.message ?? "", p);
  });
}

test("validate refuses a bad sessionAffinity timeout", () => {
  const spec = {
    ports: [{ port: 80 }],
    sessionAffinity: "ClientIP",
    sessionAffinityConfig: { clientIP: { timeoutSeconds: 0 } },
  };
  const r = validate(request(service({ spec })));
  assert.equal(r.allowed, false);
  assert.match(r.status?.message ?? "", /timeoutSeconds: must be an integer from 1 to 86400/);
});

test("validate lists every error in one message", () => {
  const annotations = { [key("mode")]: "SNAT", [key("scheduler")]: "roundrobin", [key("foo")]: "x" };
  const r = validate(request(service({ annotations })));
  const message = r.status?.message ?? "";
  assert.match(message, /has 3 invalid kube-nftlb settings: /);
  assert.match(message, /mode: invalid value "SNAT"/);
  assert.match(message, /scheduler: invalid value "roundrobin"/);
  assert.match(message, /-foo: unknown kube-nftlb annotation/);
  assert.deepEqual(message.match(/\(\d\) service/g), ["(1) service", "(2) service", "(3) service"]);
});

const admitted: [
  string,
  Record<string, unknown> | undefined,
  Record<string, unknown> | undefined,
  RegExp[],
][] = [
  ["no annotations", undefined, undefined, []],
  ["null annotations", null as unknown as undefined, undefined, []],
  ["only other annotations", { "example.com/team": "a", "service.kubernetes.io/other": "x" }, undefined, []],
  [
    "every key valid",
    {
      [key("mode")]: "dnat",
      [key("scheduler")]: "hash-srcip",
      [key("persistence")]: "srcip",
      [key("helper")]: "sip",
      [key("log")]: "forward",
    },
    undefined,
    [],
  ],
  ["sip on UDP", { [key("helper")]: "sip" }, udp, []],
  [
    "persistence disagreeing with sessionAffinity (warned)",
    { [key("persistence")]: "srcport" },
    { ports: [{ port: 80 }], sessionAffinity: "ClientIP" },
    [/persistence: the annotation "srcport" takes priority over spec.sessionAffinity: ClientIP/],
  ],
  [
    "a LoadBalancer with source ranges and nodePorts (warned: the nodePorts stay open)",
    { [key("mode")]: "snat" },
    { type: "LoadBalancer", loadBalancerSourceRanges: ["10.0.0.0/8"], ports: [{ port: 80 }] },
    [
      /spec\.loadBalancerSourceRanges: enforced on the load balancer's IPs only: this Service's nodePorts accept every source/,
    ],
  ],
  [
    "source ranges on a ClusterIP Service, one of them garbage (warned twice)",
    { [key("mode")]: "snat" },
    { loadBalancerSourceRanges: ["10.0.0.0/8", "10.0.0.0/99"], ports: [{ port: 80 }] },
    [
      /"10\.0\.0\.0\/99" is not a CIDR: skipped/,
      /applies only to type LoadBalancer; this ClusterIP Service's addresses accept every source/,
    ],
  ],
  [
    "headless with annotations (warned: no effect)",
    { [key("mode")]: "dnat" },
    { clusterIP: "None", ports: [{ port: 80 }] },
    [/does not balance this Service \(it is headless/],
  ],
];

for (const [name, annotations, spec, warnings] of admitted) {
  test(`validate admits ${name}`, () => {
    const r = validate(request(service({ annotations, spec }), { uid: "u-2" }));
    assert.deepEqual(
      { uid: r.uid, allowed: r.allowed, status: r.status, patch: r.patch },
      { uid: "u-2", allowed: true, status: undefined, patch: undefined },
    );
    assert.equal(r.warnings?.length ?? 0, warnings.length);
    warnings.forEach((w, i) => assert.match(r.warnings?.[i] ?? "", w));
  });
}

test("on UPDATE an error already stored becomes a warning, so the Service can still be edited", () => {
  const oldObject = service({ annotations: { [key("mode")]: "SNAT" } });
  const scaled = service({ annotations: { [key("mode")]: "SNAT" }, labels: { tier: "front" } });
  const r = validate(request(scaled, { operation: "UPDATE", oldObject }));
  assert.equal(r.allowed, true);
  assert.equal(r.warnings?.length, 1);
  assert.match(r.warnings?.[0] ?? "", /mode: invalid value "SNAT".*\(already stored before this change/);
});

test("on UPDATE the errors the change introduces are refused; the stored ones are warned", () => {
  const oldObject = service({ annotations: { [key("mode")]: "SNAT" } });
  const worse = service({ annotations: { [key("mode")]: "SNAT", [key("log")]: "all" } });
  const r = validate(request(worse, { operation: "UPDATE", oldObject }));
  assert.equal(r.allowed, false);
  assert.equal(r.status?.code, 403);
  assert.match(r.status?.message ?? "", /has an invalid kube-nftlb setting: .*log: invalid value "all"/);
  assert.doesNotMatch(r.status?.message ?? "", /SNAT/);
  assert.match(r.warnings?.[0] ?? "", /SNAT.*already stored/);
});

test("on UPDATE a valid Service turned invalid is refused", () => {
  const oldObject = service({ annotations: { [key("mode")]: "snat" } });
  const r = validate(
    request(service({ annotations: { [key("mode")]: "nat" } }), { operation: "UPDATE", oldObject }),
  );
  assert.equal(r.allowed, false);
  assert.match(r.status?.message ?? "", /mode: invalid value "nat"/);
});

test("on UPDATE fixing a stored error is admitted without warnings", () => {
  const oldObject = service({ annotations: { [key("mode")]: "SNAT" } });
  const r = validate(
    request(service({ annotations: { [key("mode")]: "snat" } }), { operation: "UPDATE", oldObject }),
  );
  assert.deepEqual(r, { uid: r.uid, allowed: true });
});

test("on UPDATE changing one wrong value for another wrong one is refused (it is a new error)", () => {
  const oldObject = service({ annotations: { [key("mode")]: "SNAT" } });
  const r = validate(
    request(service({ annotations: { [key("mode")]: "DNAT" } }), { operation: "UPDATE", oldObject }),
  );
  assert.equal(r.allowed, false);
  assert.match(r.status?.message ?? "", /"DNAT"; did you mean "dnat"/);
});

test("DELETE and CONNECT are admitted unchecked", () => {
  for (const operation of ["DELETE", "CONNECT"]) {
    const r = validate(
      request(null, { operation, oldObject: service({ annotations: { [key("mode")]: "x" } }), uid: "d" }),
    );
    assert.deepEqual(r, { uid: "d", allowed: true });
  }
});

test("an object that is not a Service is admitted with a warning naming it", () => {
  const pod = { apiVersion: "v1", kind: "Pod", metadata: { name: "p", annotations: { [key("mode")]: "x" } } };
  const r = validate(request(pod, { kind: "Pod", uid: "p" }));
  assert.equal(r.allowed, true);
  assert.match(r.warnings?.[0] ?? "", /checks only Services; Pod admitted unchecked/);
  const ingress = validate(request({ kind: "Service" }, { kind: "Service", group: "serving.knative.dev" }));
  assert.match(ingress.warnings?.[0] ?? "", /serving.knative.dev\/Service admitted unchecked/);
});

test("a Service that cannot be read is a 400 with the reason, not a crash", () => {
  const bad = service({ spec: { ports: [{ port: "eighty" }] } });
  const r = validate(request(bad, { uid: "b" }));
  assert.equal(r.uid, "b");
  assert.equal(r.allowed, false);
  assert.equal(r.status?.code, 400);
  assert.equal(r.status?.reason, "BadRequest");
  assert.match(r.status?.message ?? "", /not a valid Service at spec.ports.0.port/);
  for (const object of [null, "x", [1], undefined]) {
    assert.equal(validate(request(object, { uid: "c" })).status?.code, 400);
  }
});

test("a Service created with generateName is named by its prefix in the message", () => {
  const obj = service({ annotations: { [key("mode")]: "x" } });
  const meta = obj.metadata as Record<string, unknown>;
  delete meta.name;
  meta.generateName = "web-";
  const r = validate({ ...request(obj), name: "" });
  assert.match(r.status?.message ?? "", /^Service shop\/web-\* has/);
});
