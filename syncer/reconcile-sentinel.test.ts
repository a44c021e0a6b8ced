// The restart sentinel (nftlb/client.ts): an nftlb restart at any moment after the first full
// write must be noticed by the probe, or the node stays unbalanced until the next resync.
import { test } from "node:test";
import assert from "node:assert/strict";
import { FULL } from "./reconcile.ts";
import { setup } from "./reconcile.test-helpers.ts";
import { until } from "../test/until.ts";

test("an nftlb restart right after the cold start's write is noticed: the sentinel is planted before the write", async () => {
  const t = setup();
  t.cluster.put("ns", "web", "10.96.0.10", ["10.1.0.1"]);
  // nftlb restarts the moment it has answered the farms' POST (found by bench/scale.ts: the
  // bench restarted nftlb as soon as the syncer was programmed, and it was never re-programmed).
  const upsert = t.nftlb.upsertFarms.bind(t.nftlb);
  t.nftlb.upsertFarms = async (farms) => {
    const r = await upsert(farms);
    if (farms.some((f) => f.name === "ns.web.http")) t.nftlb.restart();
    return r;
  };
  t.queue.add(FULL);
  await t.run();
  assert.equal(t.reconciler.sentinelPlanted, true, "the syncer believes the sentinel planted");
  const ping = await t.nftlb.ping();
  assert.ok(ping.ok);
  assert.equal(ping.value.sentinel, false, "so the probe sees it gone: a restart, everything re-programmed");
  await t.stop();
});

test("nftlb read while the caches fill: the sentinel goes in before that read, so a restart after it is noticed and read again", async () => {
  const t = setup();
  t.cluster.put("ns", "web", "10.96.0.10", ["10.1.0.1"]);
  const plant = t.nftlb.plantSentinel.bind(t.nftlb);
  let readsWhenPlanted: number | undefined;
  t.nftlb.plantSentinel = () => {
    readsWhenPlanted ??= t.nftlb.listed.farms;
    return plant();
  };
  t.reconciler.prefetchNftlb();
  await until("nftlb read at start", () => t.nftlb.listed.farms === 1);
  assert.equal(readsWhenPlanted, 0, "the sentinel was planted before nftlb was read");
  assert.equal(t.reconciler.sentinelPlanted, true);
  t.queue.add(FULL);
  await t.run();
  assert.equal(t.nftlb.listed.farms, 1, "the first full pass used the read made while the caches filled");
  assert.ok(t.nftlb.farms.has("ns.web.http"));
  // A restart at any moment after that read: the sentinel is gone, so the probe sees it.
  t.nftlb.restart();
  const ping = await t.nftlb.ping();
  assert.ok(ping.ok);
  assert.equal(ping.value.sentinel, false);
  t.reconciler.nftlbRestarted();
  t.queue.add(FULL);
  await t.run();
  assert.equal(t.nftlb.listed.farms, 2, "read again");
  assert.ok(t.nftlb.farms.has("ns.web.http"), "and re-programmed");
  assert.equal(t.reconciler.sentinelPlanted, true);
  await t.stop();
});
