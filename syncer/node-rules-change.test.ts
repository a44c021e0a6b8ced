// Element updates of kube-nftlb's table (node-rules-change.ts), checked against the real nft in
// a network namespace: the table they leave is the one a full replace leaves.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import process from "node:process";
import { renderNodeRulesChange } from "./node-rules-change.ts";
import { nftTable } from "./node-rules-nft.ts";
import { EMPTY_RULES, type NodeRules } from "./node-rules.ts";

const refused = (ip: string, verdict: "reject" | "drop" = "reject") => ({
  family: ip.includes(":") ? ("ipv6" as const) : ("ipv4" as const),
  protocol: "tcp" as const,
  ip,
  port: 80,
  verdict,
});
const A: NodeRules = {
  noEndpoints: [refused("10.96.0.1"), refused("10.96.0.2"), refused("fd00::1")],
  firewall: [],
  hairpin: [{ family: "ipv4", ip: "10.1.0.1" }],
};
// One refusal gone, one verdict changed, one added; a hairpin address gone, one of each family added.
const B: NodeRules = {
  noEndpoints: [refused("10.96.0.2", "drop"), refused("10.96.0.3"), refused("fd00::1")],
  firewall: [],
  hairpin: [
    { family: "ipv4", ip: "10.1.0.2" },
    { family: "ipv6", ip: "fd01::2" },
  ],
};
const fw = (allow: string[]) => [
  { family: "ipv4" as const, protocol: "tcp" as const, ip: "192.0.2.1", port: 443, allow },
];

test("a firewall that changes replaces the table; the same rules need no nft run", () => {
  assert.equal(
    renderNodeRulesChange({ ...A, firewall: fw(["10.0.0.0/8"]) }, { ...A, firewall: fw([]) }),
    undefined,
  );
  assert.equal(renderNodeRulesChange(A, { ...EMPTY_RULES, firewall: fw([]) }), undefined);
  assert.equal(renderNodeRulesChange(A, { ...A, noEndpoints: [...A.noEndpoints].reverse() }), "");
});

const noNft = process.getuid?.() !== 0 || spawnSync("nft", ["--version"]).error !== undefined;
const ns = `kn-change-${process.pid}`;
const dir = mkdtempSync(path.join(tmpdir(), "kn-change-"));
const log = path.join(dir, "scripts");
// nft in the namespace, each script it is given appended to `log`.
const table = nftTable({
  command: ["sh", "-c", `tee -a ${log} | ip netns exec ${ns} nft "$@"`, "nft"],
});
const listed = () => {
  const r = spawnSync("ip", ["netns", "exec", ns, "nft", "list", "table", "inet", "kube-nftlb"], {
    encoding: "utf8",
  });
  return r.status === 0 ? r.stdout : `(no table: ${r.stderr.trim()})`;
};
const scripts = () => readFileSync(log, "utf8");

before(() => {
  if (!noNft) spawnSync("ip", ["netns", "add", ns]);
});
after(() => {
  if (!noNft) spawnSync("ip", ["netns", "del", ns]);
  rmSync(dir, { recursive: true, force: true });
});

test(
  "element updates leave the table a full replace leaves, without replacing it",
  { skip: noNft && "needs root and nft" },
  async () => {
    assert.deepEqual(await table.apply(B), { ok: true, value: undefined });
    const full = listed();
    assert.deepEqual(await table.apply(A), { ok: true, value: undefined });
    rmSync(log, { force: true });
    assert.deepEqual(await table.apply(B, A), { ok: true, value: undefined });
    assert.equal(listed(), full);
    assert.match(scripts(), /^delete element inet kube-nftlb no-endpoint-services \{ /m);
    assert.match(scripts(), /^add element inet kube-nftlb hairpin-v6 \{ fd01::2 \. fd01::2 \}$/m);
    assert.doesNotMatch(scripts(), /delete table/);
  },
);

test(
  "when the kernel's table is not the one said, the table is replaced",
  { skip: noNft && "needs root and nft" },
  async () => {
    assert.deepEqual(await table.apply(B), { ok: true, value: undefined });
    const full = listed();
    // Deleted behind the keeper's back, then edited: the element updates fail, nothing applied.
    spawnSync("ip", ["netns", "exec", ns, "nft", "delete", "table", "inet", "kube-nftlb"]);
    assert.deepEqual(await table.apply(B, A), { ok: true, value: undefined });
    assert.equal(listed(), full);
    assert.deepEqual(await table.apply(EMPTY_RULES), { ok: true, value: undefined });
    rmSync(log, { force: true });
    assert.deepEqual(await table.apply(B, A), { ok: true, value: undefined });
    assert.equal(listed(), full);
    assert.match(scripts(), /delete element[^]*delete table/);
  },
);
