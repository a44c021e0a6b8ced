// loadBalancerSourceRanges read as CIDRs (garbage skipped, never widened) and the warnings that
// say where a node cannot enforce them.
import { test } from "node:test";
import assert from "node:assert/strict";
import { cidrContains, parseCidr, parseService, sourceRangeWarnings, type Service } from "./index.ts";

test("CIDRs: host bits cleared, canonical text, bare addresses are host routes", () => {
  for (const [raw, text] of [
    ["10.1.2.3/8", "10.0.0.0/8"],
    ["192.0.2.7", "192.0.2.7/32"],
    [" 0.0.0.0/0 ", "0.0.0.0/0"],
    ["2001:DB8::1/32", "2001:db8::/32"],
    ["2001:db8:0:0:1:0:0:1/128", "2001:db8::1:0:0:1/128"],
    ["::ffff:192.0.2.1/128", "::ffff:c000:201/128"],
    ["::/0", "::/0"],
  ] as const) {
    assert.equal(parseCidr(raw)?.text, text, raw);
  }
});

test("garbage is no CIDR", () => {
  for (const raw of [
    "",
    "10.0.0.0/33",
    "10.0.0.0/-1",
    "10.0.0.0/8/8",
    "10.0.0/8",
    "010.0.0.0/8",
    "fe80::1%eth0/64",
    "::/129",
    "10.0.0.0/ 8",
    "a.b.c.d/8",
    42,
    null,
    { cidr: "10.0.0.0/8" },
  ]) {
    assert.equal(parseCidr(raw), undefined, JSON.stringify(raw));
  }
});

test("containment by family", () => {
  const c = parseCidr("10.0.0.0/8")!;
  assert.equal(cidrContains(c, "10.200.1.1"), true);
  assert.equal(cidrContains(c, "11.0.0.1"), false);
  assert.equal(cidrContains(c, "::ffff:10.0.0.1"), false);
  assert.equal(cidrContains(parseCidr("fd00::/8")!, "fd12::1"), true);
});

const svc = (spec: Record<string, unknown>): Service => {
  const r = parseService({
    kind: "Service",
    metadata: { name: "lb" },
    spec: { ports: [{ port: 80 }], ...spec },
  });
  assert.ok(r.ok);
  return r.service;
};

test("warnings: where the node cannot enforce the ranges", () => {
  assert.deepEqual(sourceRangeWarnings(svc({ type: "LoadBalancer" })), [], "no ranges, nothing to say");
  assert.deepEqual(
    sourceRangeWarnings(
      svc({
        type: "LoadBalancer",
        loadBalancerSourceRanges: ["10.0.0.0/8"],
        allocateLoadBalancerNodePorts: false,
      }),
    ),
    [],
  );
  const open = sourceRangeWarnings(svc({ type: "LoadBalancer", loadBalancerSourceRanges: ["10.0.0.0/8"] }));
  assert.equal(open.length, 1);
  assert.match(open[0]!.message, /nodePorts accept every source/);
  const nodePort = sourceRangeWarnings(svc({ type: "NodePort", loadBalancerSourceRanges: ["10.0.0.0/8"] }));
  assert.match(nodePort[0]!.message, /applies only to type LoadBalancer; this NodePort Service/);
  const bad = sourceRangeWarnings(
    svc({
      type: "LoadBalancer",
      allocateLoadBalancerNodePorts: false,
      loadBalancerSourceRanges: ["10.0.0.0/80", 7],
    }),
  );
  assert.equal(bad.length, 1);
  assert.match(
    bad[0]!.message,
    /"10\.0\.0\.0\/80", 7 are not a CIDR: skipped \(those sources are refused, not allowed\)/,
  );
  assert.equal(bad[0]!.key, "spec.loadBalancerSourceRanges");
});
