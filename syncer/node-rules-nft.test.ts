// The nft adapter with bad input: every failure is a value with nft's reason, nothing throws.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import process from "node:process";
import { nftTable } from "./node-rules-nft.ts";
import { EMPTY_RULES } from "./node-rules.ts";

test("a missing nft binary is an error value", async () => {
  const t = nftTable({ command: ["/nonexistent/nft"] });
  for (const r of [await t.apply(EMPTY_RULES), await t.exists(), await t.remove()]) {
    assert.equal(r.ok, false);
    if (!r.ok) assert.match(r.error, /cannot run \/nonexistent\/nft: ENOENT/);
  }
});

test("an nft that never answers is cut off and reported", async () => {
  const r = await nftTable({ command: ["sh", "-c", "exec sleep 30", "fake-nft"], timeoutMs: 200 }).apply(
    EMPTY_RULES,
  );
  assert.deepEqual(r, { ok: false, error: "no answer within 200 ms" });
});

test("a command that fails says its exit status", async () => {
  const r = await nftTable({ command: ["false"] }).exists();
  assert.deepEqual(r, { ok: false, error: "nft exited with 1: (no message)" });
});

const noNft = process.getuid?.() !== 0 || spawnSync("nft", ["--version"]).error !== undefined;

test(
  "a script nft refuses comes back with nft's words (nft -c: nothing applied)",
  { skip: noNft && "needs root and nft" },
  async () => {
    // An address nft cannot read (the agent's parser refuses it before nft would see it).
    const ip = "10.0.0.999";
    const bad = {
      noEndpoints: [
        { family: "ipv4" as const, protocol: "tcp" as const, ip, port: 80, verdict: "reject" as const },
      ],
      firewall: [],
      hairpin: [],
    };
    const r = await nftTable({ command: ["nft", "-c"] }).apply(bad);
    assert.equal(r.ok, false);
    if (!r.ok) assert.match(r.error, /^nft exited with 1: .*10\.0\.0\.999/);
  },
);
