// The renderer of kube-nftlb's table: one script that replaces the table, names no other table,
// renders equal rules to equal text, and is valid nft (checked with the real nft where root).
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import process from "node:process";
import { EMPTY_RULES, removeScript, renderNodeRules, type NodeRules } from "./node-rules.ts";

const RULES: NodeRules = {
  noEndpoints: [
    { family: "ipv4", protocol: "tcp", ip: "10.96.0.10", port: 80, verdict: "reject" },
    { family: "ipv4", protocol: "udp", ip: "10.96.0.10", port: 53, verdict: "drop" },
    { family: "ipv6", protocol: "tcp", ip: "fd00::10", port: 80, verdict: "reject" },
    // The same destination again (two farms claiming it): the first wins, nft refuses duplicates.
    { family: "ipv4", protocol: "tcp", ip: "10.96.0.10", port: 80, verdict: "drop" },
  ],
  firewall: [
    { family: "ipv4", protocol: "tcp", ip: "203.0.113.7", port: 443, allow: ["10.0.0.0/8", "192.0.2.1/32"] },
    { family: "ipv6", protocol: "sctp", ip: "2001:db8::7", port: 443, allow: [] },
  ],
  hairpin: [
    { family: "ipv4", ip: "10.244.1.5" },
    { family: "ipv6", ip: "fd00:10:244::5" },
    { family: "ipv4", ip: "10.244.0.3" },
    // The same Pod backing two dnat farms: one element (nft refuses an element twice).
    { family: "ipv4", ip: "10.244.1.5" },
  ],
  balanced: [
    { family: "ipv4", protocol: "tcp", ip: "10.96.0.20", port: 443 },
    { family: "ipv6", protocol: "udp", ip: "fd00::20", port: 53 },
    // Also refused for having no endpoint (a farm nftlb holds empty, one planned with backends):
    // left to the refusal, not dropped.
    { family: "ipv4", protocol: "tcp", ip: "10.96.0.10", port: 80 },
    { family: "ipv4", protocol: "tcp", ip: "10.96.0.20", port: 443 },
  ],
};

test("the script replaces table inet kube-nftlb and names no other table", () => {
  const script = renderNodeRules(RULES);
  const tables = script.split("\n").filter((l) => /^\s*(table|delete table|flush)/.test(l));
  assert.deepEqual(tables, [
    "table inet kube-nftlb {}",
    "delete table inet kube-nftlb",
    "table inet kube-nftlb {",
  ]);
  assert.doesNotMatch(script, /(?<!kube-)nftlb|flush ruleset/);
});

test("verdicts, firewall chains, hooks and priorities", () => {
  const script = renderNodeRules(RULES);
  assert.match(script, /10\.96\.0\.10 \. tcp \. 80 : goto reject-chain,/);
  assert.doesNotMatch(script, /10\.96\.0\.10 \. tcp \. 80 : drop/, "the first entry for a destination wins");
  assert.match(script, /10\.96\.0\.10 \. udp \. 53 : drop,/);
  assert.match(script, /fd00::10 \. tcp \. 80 : goto reject-chain/);
  assert.match(script, /203\.0\.113\.7 \. tcp \. 443 : goto fw-tcp-203\.0\.113\.7-443/);
  assert.match(script, /ip saddr != \{ 10\.0\.0\.0\/8, 192\.0\.2\.1\/32 \} drop/);
  // No allowed source of the family: everything is dropped, never everything allowed.
  assert.match(script, /chain fw-sctp-2001-db8--7-443 \{\n {4}drop\n/);
  for (const [chain, hook, prio] of [
    ["filter-prerouting", "prerouting", -110],
    ["filter-output", "output", -110],
    ["filter-input", "input", -110],
    ["filter-forward", "forward", -110],
    ["filter-output-post-dnat", "output", -90],
  ] as const) {
    assert.match(script, new RegExp(`chain ${chain} \\{\\n {4}type filter hook ${hook} priority ${prio};`));
  }
});

test("hairpin: each dnat backend paired with itself, masqueraded only when DNATed to itself", () => {
  const script = renderNodeRules(RULES);
  assert.match(
    script,
    /set hairpin \{\n {4}type ipv4_addr \. ipv4_addr\n {4}elements = \{\n {6}10\.244\.0\.3 \. 10\.244\.0\.3,\n {6}10\.244\.1\.5 \. 10\.244\.1\.5,\n {4}\}/,
  );
  assert.match(
    script,
    /set hairpin-v6 \{\n {4}type ipv6_addr \. ipv6_addr\n {4}elements = \{\n {6}fd00:10:244::5 \. fd00:10:244::5,\n/,
  );
  assert.match(
    script,
    /chain nat-postrouting \{\n {4}type nat hook postrouting priority 110; policy accept;\n {4}ct status dnat ip saddr \. ip daddr @hairpin masquerade\n {4}ct status dnat ip6 saddr \. ip6 daddr @hairpin-v6 masquerade\n {2}\}/,
  );
  assert.equal(script.match(/masquerade/g)?.length, 2, "no other masquerade");
  // Empty: the sets are declared (the chain names them) and hold nothing.
  assert.match(renderNodeRules(EMPTY_RULES), /set hairpin \{\n {4}type ipv4_addr \. ipv4_addr\n {2}\}/);
});

test("straddlers: a new packet to a balanced destination still not DNATed after nftlb's nat chain is dropped, in prerouting only", () => {
  const script = renderNodeRules(RULES);
  assert.match(
    script,
    /set balanced \{\n {4}type ipv4_addr \. inet_proto \. inet_service\n {4}elements = \{\n {6}10\.96\.0\.20 \. tcp \. 443,\n {4}\}/,
    "one element per destination; the refused one left out",
  );
  assert.match(
    script,
    /set balanced-v6 \{\n {4}type ipv6_addr \. inet_proto \. inet_service\n {4}elements = \{\n {6}fd00::20 \. udp \. 53,/,
  );
  assert.match(
    script,
    /chain filter-prerouting-post-dnat \{\n {4}type filter hook prerouting priority -90; policy accept;\n {4}ct state new ct status & dnat == 0 ip daddr \. meta l4proto \. th dport @balanced drop\n {4}ct state new ct status & dnat == 0 ip6 daddr \. meta l4proto \. th dport @balanced-v6 drop\n {2}\}/,
  );
  assert.equal(script.match(/@balanced/g)?.length, 2, "no output hook: a local sender would get EPERM");
  assert.match(
    renderNodeRules(EMPTY_RULES),
    /set balanced \{\n {4}type ipv4_addr \. inet_proto \. inet_service\n {2}\}/,
  );
});

test("equal rules in any order render to equal text", () => {
  const shuffled: NodeRules = {
    noEndpoints: [RULES.noEndpoints[2]!, RULES.noEndpoints[1]!, RULES.noEndpoints[0]!],
    firewall: [...RULES.firewall].reverse(),
    hairpin: [...RULES.hairpin].reverse(),
    balanced: [...RULES.balanced!].reverse(),
  };
  assert.equal(
    renderNodeRules(shuffled),
    renderNodeRules({ ...RULES, noEndpoints: RULES.noEndpoints.slice(0, 3) }),
  );
});

const nftCheck = (script: string) => spawnSync("nft", ["-c", "-f", "-"], { input: script, encoding: "utf8" });
const noNft = process.getuid?.() !== 0 || nftCheck("").error !== undefined;

test(
  "the real nft accepts every script (nft -c: checked, not applied)",
  { skip: noNft && "needs root and nft" },
  () => {
    for (const script of [renderNodeRules(RULES), renderNodeRules(EMPTY_RULES), removeScript()]) {
      const r = nftCheck(script);
      assert.equal(r.status, 0, r.stderr);
    }
  },
);
