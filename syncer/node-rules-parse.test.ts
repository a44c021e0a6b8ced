// The node-rules agent's input check (node-rules-parse.ts): what the syncer sends passes as is;
// garbage in any field, the hairpin addresses included, is one error naming the field.
import { test } from "node:test";
import assert from "node:assert/strict";
import { parseNodeRules } from "./node-rules-parse.ts";
import type { NodeRules } from "./node-rules.ts";

const GOOD: NodeRules = {
  noEndpoints: [{ family: "ipv4", protocol: "tcp", ip: "10.96.0.10", port: 80, verdict: "reject" }],
  firewall: [{ family: "ipv6", protocol: "udp", ip: "2001:db8::9", port: 53, allow: ["2001:db8::/32"] }],
  hairpin: [
    { family: "ipv4", ip: "10.244.1.5" },
    { family: "ipv6", ip: "fd00::7" },
  ],
  balanced: [{ family: "ipv4", protocol: "tcp", ip: "10.96.0.11", port: 443 }],
};

test("the syncer's rules pass unchanged (through JSON, as on the socket)", () => {
  assert.deepEqual(parseNodeRules(JSON.parse(JSON.stringify(GOOD))), { ok: true, value: GOOD });
});

test("rules without balanced (a syncer older than the agent) pass, with nothing dropped as a straddler", () => {
  const { balanced: _, ...older } = GOOD;
  assert.deepEqual(parseNodeRules(JSON.parse(JSON.stringify(older))), { ok: true, value: older });
});

test("garbage: one error naming the first bad field", () => {
  const hairpin = (h: unknown) => ({ ...GOOD, hairpin: h });
  const bad: [unknown, RegExp][] = [
    [null, /arrays noEndpoints, firewall and hairpin/],
    [{ noEndpoints: [], firewall: [] }, /arrays noEndpoints, firewall and hairpin/],
    [hairpin({}), /arrays noEndpoints, firewall and hairpin/],
    [hairpin(["10.244.1.5"]), /^hairpin\[0\]: not an object/],
    [hairpin([{ family: "ipv5", ip: "10.244.1.5" }]), /^hairpin\[0\]\.family: ipv4 or ipv6/],
    [hairpin([{ family: "ipv4", ip: "fd00::7" }]), /^hairpin\[0\]\.ip: not a canonical ipv4 address/],
    [
      hairpin([GOOD.hairpin[0], { family: "ipv6", ip: "FD00::7" }]),
      /^hairpin\[1\]\.ip: not a canonical ipv6/,
    ],
    [hairpin([{ family: "ipv4", ip: "10.0.0.1 . 0.0.0.0/0" }]), /^hairpin\[0\]\.ip: not a canonical/],
    [hairpin([{ family: "ipv4" }]), /^hairpin\[0\]\.ip: not a canonical ipv4 address: undefined/],
    [{ ...GOOD, noEndpoints: [{ ...GOOD.noEndpoints[0], port: 0 }] }, /^noEndpoints\[0\]\.port/],
    [{ ...GOOD, noEndpoints: [{ ...GOOD.noEndpoints[0], protocol: "icmp" }] }, /^noEndpoints\[0\]\.protocol/],
    [{ ...GOOD, firewall: [{ ...GOOD.firewall[0], allow: ["10.0.0.0/8"] }] }, /^firewall\[0\]\.allow\[0\]/],
    [{ ...GOOD, balanced: {} }, /^balanced: an array of destinations/],
    [{ ...GOOD, balanced: [{ ...GOOD.balanced![0], port: 70000 }] }, /^balanced\[0\]\.port/],
    [
      { ...GOOD, balanced: [{ family: "ipv4", protocol: "tcp", ip: "10.96.0.11 . 0.0.0.0", port: 1 }] },
      /^balanced\[0\]\.ip/,
    ],
  ];
  for (const [input, reason] of bad) {
    const r = parseNodeRules(input);
    assert.equal(r.ok, false, JSON.stringify(input));
    if (!r.ok) assert.match(r.error, reason, JSON.stringify(input));
  }
});
