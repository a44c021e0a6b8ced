// How often a reconcile runs nft for kube-nftlb's own table. Each run is a process in nftlb's
// network namespace (tens of ms on a busy node): a cold start is the syncer's start plus one
// POST, so every run the pass does not need is added to it.
import { test } from "node:test";
import assert from "node:assert/strict";
import { FULL } from "./reconcile.ts";
import { NodeRulesKeeper } from "./node-rules-keeper.ts";
import type { NodeRulesTable, TableResult } from "./node-rules-nft.ts";
import type { NodeRules } from "./node-rules.ts";
import { setup } from "./reconcile.test-helpers.ts";

function countingTable() {
  const applied: NodeRules[] = [];
  const table: NodeRulesTable = {
    apply: (rules): Promise<TableResult> => {
      applied.push(rules);
      return Promise.resolve({ ok: true, value: undefined });
    },
    exists: () => Promise.resolve({ ok: true, value: true }),
    remove: () => Promise.resolve({ ok: true, value: undefined }),
  };
  const log = { info: () => undefined, warn: () => undefined };
  return { applied, keeper: new NodeRulesKeeper({ table, log }) };
}

test("a full reconcile applies kube-nftlb's table once when the write leaves it as it was; every full reconcile still re-applies it", async () => {
  const rules = countingTable();
  const t = setup({ nodeRules: rules.keeper });
  t.cluster.put("ns", "web", "10.96.0.10", ["10.1.0.1", "10.1.0.2"]);
  t.cluster.put("ns", "db", "10.96.0.11", ["10.1.0.3"]);
  t.queue.add(FULL);
  await t.run();
  assert.deepEqual(t.nftlb.writes, ["POST ns.db.http,ns.web.http"]);
  assert.equal(
    rules.applied.length,
    1,
    "the cold start's pass: one nft run (the POST left the table as it was)",
  );
  t.queue.add(FULL);
  await t.run();
  assert.equal(rules.applied.length, 2, "a resync re-applies the table (repairs a hand edit), once");
  t.cluster.put("ns", "db", "10.96.0.11", []);
  t.queue.add("ns/db");
  await t.run();
  assert.deepEqual(
    rules.applied.at(-1)?.noEndpoints.map((d) => d.ip),
    ["10.96.0.11"],
    "a Service losing its last endpoint is refused once nftlb stops balancing it",
  );
  await t.stop();
});
