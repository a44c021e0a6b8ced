// kube-nftlb's table is computed from every farm of the node, before and after each write: each
// farm's part is computed once per pass, and only for the farms the pass touched. And nft runs
// for it only when needed: each run is a process in nftlb's network namespace (tens of ms on a
// busy node), and a cold start is the syncer's start plus one POST, so every run is added to it.
import { test } from "node:test";
import assert from "node:assert/strict";
import type { Farm } from "../nftlb/types.ts";
import { farmShare } from "./node-rules-desired.ts";
import type { NodeRules } from "./node-rules.ts";
import { NodeRulesKeeper } from "./node-rules-keeper.ts";
import type { NodeRulesTable, TableResult } from "./node-rules-nft.ts";
import { fullKey } from "../annotations/contract.ts";
import { FULL } from "./reconcile.ts";
import { backends, setup } from "./reconcile.test-helpers.ts";

function counting() {
  const computed: Farm[] = [];
  const tables: NodeRules[] = [];
  return {
    computed,
    tables,
    farmShare: (farm: Farm) => {
      computed.push(farm);
      return farmShare(farm);
    },
    nodeRules: {
      lastError: undefined,
      update: (rules: NodeRules) => {
        tables.push(rules);
        return Promise.resolve(true);
      },
      hold(rules: NodeRules) {
        return this.update(rules);
      },
    },
  };
}

const names = (farms: Farm[]) => farms.map((f) => f.name).sort();

test("node rules: a farm's part of the table is computed once per pass, only for farms the pass changed", async () => {
  const c = counting();
  const t = setup({ nodeRules: c.nodeRules, farmShare: c.farmShare });
  t.cluster.put("ns", "a", "10.96.0.1", ["10.1.0.1"]);
  t.cluster.put("ns", "b", "10.96.0.2", ["10.1.0.2"]);
  t.cluster.put("ns", "empty", "10.96.0.3", []);
  t.queue.add(FULL);
  await t.run();
  assert.equal(c.tables.length, 2, "the table before and after the write");
  assert.deepEqual(
    [...new Set(c.tables[1]!.noEndpoints.map((d) => d.ip))],
    ["10.96.0.3"],
    "the Service without endpoints is refused",
  );
  // Each farm as planned, then as nftlb holds it after the write: once each, never twice.
  assert.equal(new Set(c.computed).size, c.computed.length, "no farm object computed twice");
  const all = ["ns.a.http", "ns.b.http", "ns.empty.http"];
  assert.deepEqual(names(c.computed), [...all, ...all].sort());

  c.computed.length = 0;
  t.queue.add(FULL);
  await t.run();
  assert.equal(new Set(c.computed).size, c.computed.length, "a resync: no farm object computed twice");
  assert.deepEqual(names(c.computed), [...all, ...all].sort(), "as nftlb lists it, and as planned");

  c.computed.length = 0;
  t.cluster.put("ns", "a", "10.96.0.1", ["10.1.0.1", "10.1.0.9"]);
  t.queue.add("ns/a");
  await t.run();
  assert.deepEqual(
    names(c.computed),
    ["ns.a.http", "ns.a.http"],
    "only the changed farm, planned and written",
  );

  c.computed.length = 0;
  c.tables.length = 0;
  t.queue.add("ns/b");
  await t.run();
  assert.deepEqual(names(c.computed), ["ns.b.http"], "nothing written: the farm as planned, once");
  assert.equal(c.tables.length, 2);
  assert.equal(c.tables[1], c.tables[0], "nothing written: the table is not computed again");
  await t.stop();
});

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

/** A table whose nft runs, once blocked, answer only when released (a slow `nft -f` on a busy node). */
function blockingTable() {
  const applied: NodeRules[] = [];
  const held: (() => void)[] = [];
  let blocking = false;
  const ok: TableResult = { ok: true, value: undefined };
  const table: NodeRulesTable = {
    apply: (rules): Promise<TableResult> => {
      applied.push(rules);
      return blocking ? new Promise((res) => held.push(() => res(ok))) : Promise.resolve(ok);
    },
    exists: () => Promise.resolve({ ok: true, value: true }),
    remove: () => Promise.resolve(ok),
  };
  const log = { info: () => undefined, warn: () => undefined };
  return {
    applied,
    held,
    keeper: new NodeRulesKeeper({ table, log }),
    block: () => (blocking = true),
    release: () => {
      blocking = false;
      for (const answer of held.splice(0)) answer();
    },
  };
}

test("a change arriving while nft runs for the previous pass's table is written without waiting for it; the table then follows the farms", async () => {
  const nft = blockingTable();
  const t = setup({ nodeRules: nft.keeper });
  t.cluster.put("ns", "a", "10.96.0.1", []);
  t.queue.add("ns/a");
  await t.run();
  assert.deepEqual(
    [...new Set(nft.applied.at(-1)?.noEndpoints.map((d) => d.ip))],
    ["10.96.0.1"],
    "a refused",
  );

  nft.block();
  t.cluster.put("ns", "a", "10.96.0.1", ["10.1.0.1"]);
  t.queue.add("ns/a");
  await t.run();
  assert.deepEqual(backends(t.nftlb.farms.get("ns.a.http")), ["10.1.0.1"]);
  assert.equal(nft.held.length, 1, "after its write the pass runs nft: a is no longer refused");

  // Another Service's change needs nothing the kernel lacks (the table in place refuses a, the one
  // on its way does not; b asks for neither): its farm is written while that nft still runs.
  t.cluster.put("ns", "b", "10.96.0.2", ["10.1.0.2"]);
  t.queue.add("ns/b");
  await t.run();
  assert.deepEqual(backends(t.nftlb.farms.get("ns.b.http")), ["10.1.0.2"], "b written while nft runs");
  assert.equal(nft.held.length, 1, "still the one nft run");

  nft.release();
  await t.run();
  const last = nft.applied.at(-1);
  assert.deepEqual(
    { ...last, balanced: undefined },
    { noEndpoints: [], firewall: [], hairpin: [], balanced: undefined },
    "the table follows",
  );
  assert.deepEqual(
    [...new Set(last?.balanced?.map((d) => `${d.ip}:${d.port}/${d.protocol}`))].sort(),
    ["10.96.0.1:80/tcp", "10.96.0.2:80/tcp"],
    "both now balanced: a new connection nftlb left un-DNATed is dropped, not routed",
  );
  await t.stop();
});

test("a new farm's refusal and hairpin addresses are in kube-nftlb's table before nftlb first holds it, with no nft run after the write", async () => {
  const applied: { rules: NodeRules; writes: number }[] = [];
  const ok: TableResult = { ok: true, value: undefined };
  const log = { info: () => undefined, warn: () => undefined };
  const table: NodeRulesTable = {
    apply: (rules) => {
      applied.push({ rules, writes: t.nftlb.writes.length }); // called once t is set up
      return Promise.resolve(ok);
    },
    exists: () => Promise.resolve({ ok: true, value: true }),
    remove: () => Promise.resolve(ok),
  };
  const t = setup({ nodeRules: new NodeRulesKeeper({ table, log }) });
  t.cluster.put("ns", "empty", "10.96.0.1", []);
  t.queue.add("ns/empty");
  await t.run();
  assert.deepEqual(t.nftlb.writes, ["POST ns.empty.http"]);
  assert.deepEqual(
    applied.map((a) => [a.writes, [...new Set(a.rules.noEndpoints.map((d) => d.ip))]]),
    [[0, ["10.96.0.1"]]],
    "refused before nftlb holds the farm (its destination is not balanced then either), and nft ran once",
  );

  t.cluster.put("ns", "hair", "10.96.0.2", ["10.1.0.7"], { [fullKey("mode")]: "dnat" });
  t.queue.add("ns/hair");
  await t.run();
  assert.equal(t.nftlb.farms.get("ns.hair.http")?.mode, "dnat");
  assert.deepEqual(
    applied.slice(1).map((a) => [a.writes, a.rules.hairpin.map((h) => h.ip)]),
    [[1, ["10.1.0.7"]]],
    "a Pod reaching itself through the new dnat farm is masqueraded from the farm's first packet on",
  );
  await t.stop();
});
