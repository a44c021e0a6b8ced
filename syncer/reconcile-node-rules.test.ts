// kube-nftlb's table is computed from every farm of the node, before and after each write: each
// farm's part is computed once per pass, and only for the farms the pass touched.
import { test } from "node:test";
import assert from "node:assert/strict";
import type { Farm } from "../nftlb/types.ts";
import { farmShare } from "./node-rules-desired.ts";
import type { NodeRules } from "./node-rules.ts";
import { FULL } from "./reconcile.ts";
import { setup } from "./reconcile.test-helpers.ts";

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
