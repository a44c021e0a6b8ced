import { test } from "node:test";
import assert from "node:assert/strict";
import { KeyQueue } from "./queue.ts";
import { FakeTimers } from "../kube/fake-timers.ts";

function setup(opts: ConstructorParameters<typeof KeyQueue>[0] = {}) {
  const timers = new FakeTimers();
  const q = new KeyQueue({ timers, backoffBaseMs: 100, backoffCapMs: 1_000, ...opts });
  // One consumer: a get that found nothing stays pending and is reused by the next take.
  let pending: { got: string[] | undefined | null } | undefined;
  /** Lets time run by `ms`; the batch handed out by then, or undefined. */
  const take = async (ms = 0): Promise<string[] | undefined> => {
    if (pending === undefined) {
      const p: { got: string[] | undefined | null } = { got: null };
      void q.get().then((b) => (p.got = b));
      pending = p;
    }
    await timers.advance(ms);
    const got = pending.got;
    if (got === null) return undefined;
    pending = undefined;
    return got;
  };
  return { timers, q, take };
}

test("a key added many times while waiting is handed out once", async () => {
  const { q, take } = setup();
  for (let i = 0; i < 100; i++) q.add("ns/a");
  q.add("ns/b");
  assert.equal(q.depth, 2);
  assert.deepEqual(await take(), ["ns/a", "ns/b"]);
  assert.equal(q.depth, 0);
});

test("keys added in the same turn become one batch for one worker", async () => {
  const { q, take } = setup();
  let batch: string[] | undefined;
  void q.get().then((b) => (batch = b));
  for (let i = 0; i < 50; i++) q.add(`ns/s${i}`);
  const other = await take();
  assert.equal(other, undefined, "the other worker gets nothing: all 50 went in one batch");
  assert.equal(batch?.length, 50);
});

test("batch window: keys arriving within the window ride along; maxBatch splits", async () => {
  const timers = new FakeTimers();
  const q = new KeyQueue({ timers, batchWindowMs: 10, maxBatch: 3 });
  const batches: string[][] = [];
  const worker = async () => {
    for (;;) {
      const b = await q.get();
      if (b === undefined) return;
      batches.push(b);
      q.done(b);
    }
  };
  const w = worker();
  q.add("a");
  await timers.advance(5);
  q.add("b");
  q.add("c");
  q.add("d");
  assert.deepEqual(batches, []);
  await timers.advance(5);
  assert.deepEqual(batches, [["a", "b", "c"]]);
  await timers.advance(10);
  assert.deepEqual(batches, [["a", "b", "c"], ["d"]]);
  await q.shutDown();
  await w;
});

test("a key re-added while processing runs once more after done, never concurrently", async () => {
  const { q, take } = setup();
  q.add("k");
  const first = await take();
  assert.deepEqual(first, ["k"]);
  q.add("k");
  q.add("k");
  assert.equal(await take(), undefined, "not handed out while still processing");
  q.done(["k"]);
  assert.deepEqual(await take(), ["k"], "runs once more");
  q.done(["k"]);
  assert.equal(await take(), undefined, "and only once");
});

test("retryable failures back off exponentially per key, capped; forget resets", async () => {
  const { q, timers, take } = setup();
  q.add("k");
  for (const expected of [100, 200, 400, 800, 1000, 1000]) {
    const b = await take();
    assert.deepEqual(b, ["k"]);
    q.addRateLimited("k");
    q.done(["k"]);
    assert.deepEqual(timers.delays(), [expected]);
    assert.equal(await take(expected - 1), undefined, `not before ${expected} ms`);
    await timers.advance(1);
  }
  assert.deepEqual(await take(), ["k"]);
  q.forget("k");
  q.addRateLimited("k");
  q.done(["k"]);
  assert.deepEqual(timers.delays(), [100]);
});

test("backoff is per key: another key is not delayed", async () => {
  const { q, take } = setup();
  q.add("slow");
  assert.deepEqual(await take(), ["slow"]);
  q.addRateLimited("slow");
  q.done(["slow"]);
  q.add("fast");
  assert.deepEqual(await take(), ["fast"]);
});

test("an object change during backoff runs now; a resync during backoff does not", async () => {
  const { q, take } = setup();
  q.add("k");
  await take();
  q.addRateLimited("k");
  q.done(["k"]);
  q.add("k", { resync: true });
  assert.equal(await take(), undefined);
  q.add("k");
  assert.deepEqual(await take(), ["k"]);
});

test("terminal failures are parked: resync skips them, an object change clears them", async () => {
  const { q, take, timers } = setup();
  q.add("bad");
  await take();
  q.park("bad");
  q.done(["bad"]);
  assert.equal(q.isParked("bad"), true);
  q.add("bad", { resync: true });
  assert.equal(await take(5_000), undefined);
  assert.equal(timers.waiting, 0, "no retry timer");
  q.add("bad");
  assert.equal(q.isParked("bad"), false);
  assert.deepEqual(await take(), ["bad"]);
});

test("shutDown hands out nothing more and resolves when the in-flight batch is done", async () => {
  const { q, take } = setup();
  q.add("a");
  const batch = await take();
  assert.deepEqual(batch, ["a"]);
  q.add("b");
  q.addRateLimited("c");
  let drained = false;
  const shut = q.shutDown().then(() => (drained = true));
  assert.equal(await q.get(), undefined);
  await Promise.resolve();
  assert.equal(drained, false, "waits for the in-flight batch");
  q.done(["a"]);
  await shut;
  assert.equal(drained, true);
  q.add("d");
  assert.equal(q.depth, 1, "b stays queued but nothing new is accepted");
});

test("garbage keys are just strings: empty and odd keys coalesce like any other", async () => {
  const { q, take } = setup();
  q.add("");
  q.add("");
  q.add("a/b/c");
  assert.deepEqual(await take(), ["", "a/b/c"]);
});
