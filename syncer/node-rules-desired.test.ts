// What kube-nftlb's table must hold, from desired() and the farms nftlb has: kube-proxy's
// verdicts (reject: no endpoint anywhere; drop: Local without a local one) and firewalls.
import { test } from "node:test";
import assert from "node:assert/strict";
import type { Farm } from "../nftlb/types.ts";
import { desired } from "./desired.ts";
import { NODE, service, slice } from "./desired-fixtures.test-helpers.ts";
import { nodeRulesFrom } from "./node-rules-desired.ts";
import { fullKey } from "../annotations/contract.ts";

const owns = (farm: string) => farm !== "handmade";
const LB = { loadBalancer: { ingress: [{ ip: "203.0.113.9" }, { ip: "2001:db8::9" }] } };

test("no endpoints anywhere: every destination of the farm is refused", () => {
  const d = desired(
    service({
      type: "NodePort",
      externalIPs: ["198.51.100.4"],
      ports: [{ name: "http", port: 80, nodePort: 30080 }],
    }),
    [],
    NODE,
  );
  const rules = nodeRulesFrom([], [d], { owns, planned: d.farms });
  assert.deepEqual(rules.noEndpoints.map((e) => `${e.ip}:${e.port} ${e.verdict}`).sort(), [
    "10.96.0.10:80 reject",
    "192.168.1.10:30080 reject",
    "198.51.100.4:80 reject",
  ]);
});

test("externalTrafficPolicy Local with endpoints on other nodes only: the external farm drops", () => {
  const d = desired(
    service({
      type: "NodePort",
      externalTrafficPolicy: "Local",
      ports: [{ name: "http", port: 80, nodePort: 30080 }],
    }),
    [slice("s1", [{ ip: "10.1.0.5", node: "node-b" }])],
    NODE,
  );
  const rules = nodeRulesFrom([], [d], { owns, planned: d.farms });
  assert.deepEqual(
    rules.noEndpoints.map((e) => `${e.ip}:${e.port} ${e.verdict}`),
    ["192.168.1.10:30080 drop"],
  );
});

test("the farms nftlb holds count: an empty one is refused, a balanced one is not, foreign ones are ignored", () => {
  const d = desired(service(), [slice("s1", [{ ip: "10.1.0.5" }])], NODE);
  const held: Farm = { ...d.farms[0]!, backends: [] };
  const foreign: Farm = {
    ...d.farms[0]!,
    name: "handmade",
    backends: [],
    addresses: [{ ...d.farms[0]!.addresses[0]!, "ip-addr": "10.9.9.9" }],
  };
  // nftlb still has no backend (the write is pending): refused until it has them.
  assert.equal(nodeRulesFrom([held, foreign], [d], { owns, planned: d.farms }).noEndpoints.length, 1);
  assert.equal(nodeRulesFrom([d.farms[0]!], [d], { owns, planned: d.farms }).noEndpoints.length, 0);
});

test("source ranges: a firewall per LoadBalancer IP and family; the node's own range lets the LB IP in", () => {
  const d = desired(
    service(
      {
        type: "LoadBalancer",
        loadBalancerSourceRanges: ["192.168.0.0/16", "10.0.0.0/8", "bogus"],
        allocateLoadBalancerNodePorts: false,
        ipFamilies: ["IPv4"],
      },
      {},
      LB,
    ),
    [slice("s1", [{ ip: "10.1.0.5" }])],
    NODE,
  );
  assert.ok(d.problems.some((p) => /"bogus" is not a CIDR/.test(p.message)));
  const rules = nodeRulesFrom([], [d], { owns, planned: d.farms });
  assert.deepEqual(rules.firewall, [
    {
      family: "ipv4",
      protocol: "tcp",
      ip: "203.0.113.9",
      port: 80,
      allow: ["192.168.0.0/16", "10.0.0.0/8", "203.0.113.9/32"],
    },
  ]);
  // Neither planned nor held (e.g. a conflict's loser): no firewall of its own.
  assert.deepEqual(nodeRulesFrom([], [d], { owns, planned: [] }).firewall, []);
});

test("source ranges of the other family only: that family's LB IPs accept no source", () => {
  const d = desired(
    service(
      {
        type: "LoadBalancer",
        clusterIPs: ["10.96.0.10", "fd00::10"],
        loadBalancerSourceRanges: ["10.0.0.0/8"],
        allocateLoadBalancerNodePorts: false,
      },
      {},
      LB,
    ),
    [slice("s1", [{ ip: "10.1.0.5" }]), slice("s2", [{ ip: "fd01::5" }])],
    NODE,
  );
  const fw = nodeRulesFrom([], [d], { owns, planned: d.farms }).firewall;
  assert.deepEqual(
    fw.map((f) => `${f.ip} [${f.allow.join(" ")}]`),
    ["203.0.113.9 [10.0.0.0/8]", "2001:db8::9 []"],
  );
});

test("ingress the load balancer proxies: a warning that the node cannot enforce the ranges", () => {
  const d = desired(
    service(
      {
        type: "LoadBalancer",
        loadBalancerSourceRanges: ["10.0.0.0/8"],
        allocateLoadBalancerNodePorts: false,
      },
      {},
      { loadBalancer: { ingress: [{ hostname: "lb.example.com" }, { ip: "203.0.113.9", ipMode: "Proxy" }] } },
    ),
    [],
    NODE,
  );
  const w = d.problems.filter((p) => p.severity === "warning").map((p) => p.message);
  assert.ok(
    w.some((m) => /not enforced by the node for lb\.example\.com, 203\.0\.113\.9/.test(m)),
    w.join("\n"),
  );
  assert.deepEqual(d.nodeRules?.firewall, []);
});

test("hairpin: every backend of a dnat farm, of either family; none of a snat farm", () => {
  const local = desired(
    service({
      type: "NodePort",
      externalTrafficPolicy: "Local",
      ports: [{ name: "http", port: 80, nodePort: 30080 }],
    }),
    [
      slice("s1", [
        { ip: "10.1.0.5", node: "node-a" },
        { ip: "10.1.0.6", node: "node-b" },
      ]),
    ],
    NODE,
  );
  const modes = Object.fromEntries(local.farms.map((f) => [f.name, f.mode]));
  assert.deepEqual(Object.values(modes).sort(), ["dnat", "snat"], `${JSON.stringify(modes)}`);
  const user = desired(
    service(
      { clusterIP: "fd00:96::10", clusterIPs: ["fd00:96::10"], ipFamilies: ["IPv6"] },
      { name: "direct", annotations: { [fullKey("mode")]: "dnat" } },
    ),
    [slice("s2", [{ ip: "fd00::7" }], { svc: "direct" })],
    NODE,
  );
  assert.equal(user.farms[0]!.mode, "dnat");
  const rules = nodeRulesFrom([], [local, user], { owns, planned: [...local.farms, ...user.farms] });
  // The Local external farm holds this node's endpoint only; the ClusterIP farm (snat) adds none.
  assert.deepEqual(rules.hairpin, [
    { family: "ipv4", ip: "10.1.0.5" },
    { family: "ipv6", ip: "fd00::7" },
  ]);
  // A dnat farm nftlb still holds counts too (its backends may still be DNATed to).
  const held: Farm = { ...user.farms[0]!, name: "default.gone.http" };
  assert.equal(nodeRulesFrom([held], [], { owns, planned: [] }).hairpin.length, 1);
});

test("balanced: the destinations of snat and dnat farms with a backend up; none of dsr, stlsdnat or empty farms", () => {
  const { farms } = desired(service(), [slice("s1", [{ ip: "10.1.0.5" }])], NODE);
  const farm = farms[0]!;
  const dest = farm.addresses.map((a) => ({
    family: "ipv4",
    protocol: farm.protocol,
    ip: a["ip-addr"],
    port: Number(a.ports),
  }));
  const of = (f: Farm) => nodeRulesFrom([f], [], { owns, planned: [] }).balanced;
  assert.equal(farm.mode, "snat");
  assert.deepEqual(of(farm), dest);
  assert.deepEqual(of({ ...farm, mode: "dnat" }), dest);
  for (const mode of ["dsr", "stlsdnat"] as const) assert.deepEqual(of({ ...farm, mode }), [], mode);
  assert.deepEqual(of({ ...farm, backends: farm.backends.map((b) => ({ ...b, state: "down" })) }), []);
  assert.deepEqual(of({ ...farm, name: "handmade" }), [], "a farm kube-nftlb did not make");
});
