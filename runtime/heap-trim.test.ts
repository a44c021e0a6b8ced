import { test } from "node:test";
import assert from "node:assert/strict";
import v8 from "node:v8";
import vm from "node:vm";
import { heapTrim, worthTrimming, type QuietTimers } from "./heap-trim.ts";

/** Timers run by hand: `advance(ms)` fires what is due. */
function handTimers() {
  let now = 0;
  let pending: { at: number; fn: () => void }[] = [];
  let armed = 0;
  const timers: QuietTimers = {
    now: () => now,
    after(ms, fn) {
      armed++;
      const p = { at: now + ms, fn };
      pending.push(p);
      return { cancel: () => void (pending = pending.filter((x) => x !== p)) };
    },
  };
  const advance = (ms: number) => {
    now += ms;
    const due = pending.filter((p) => p.at <= now);
    pending = pending.filter((p) => p.at > now);
    for (const p of due) p.fn();
  };
  return { timers, advance, waiting: () => pending.length, armed: () => armed };
}

const MiB = 2 ** 20;

/** A trim on hand timers over a heap the test sets (`heap.bytes`); a collection shrinks it to 60 MiB. */
function trimmer() {
  const hand = handTimers();
  const heap = { bytes: 50 * MiB };
  const trims: number[] = [];
  const t = heapTrim({
    timers: hand.timers,
    heapTotal: () => heap.bytes,
    collect: () => {
      trims.push(heap.bytes);
      heap.bytes = 60 * MiB;
    },
    quietMs: 2_000,
    growthBytes: 32 * MiB,
  });
  return { ...hand, heap, trims, t };
}

test("worth trimming only once the heap grew by the threshold above its low point", () => {
  assert.equal(worthTrimming(100 * MiB, 70 * MiB, 32 * MiB), false);
  assert.equal(worthTrimming(102 * MiB, 70 * MiB, 32 * MiB), true);
});

test("collects once quiet for quietMs after the heap grew, not while busy, and not again without new growth", () => {
  const { advance, waiting, heap, trims, t } = trimmer();
  // A burst: the heap grows; the worker waits for work only briefly between batches.
  heap.bytes = 150 * MiB;
  t.idle();
  advance(1_999);
  t.busy();
  advance(5_000);
  assert.deepEqual(trims, [], "work came before the quiet spell ended: no trim, however long it lasts");
  // Quiet now.
  t.idle();
  t.idle(); // said twice: still one check
  advance(2_000);
  assert.deepEqual(trims, [150 * MiB]);
  // Small growth since the trim: not worth another.
  heap.bytes = 80 * MiB;
  t.idle();
  advance(2_000);
  assert.deepEqual(trims, [150 * MiB]);
  t.stop();
  t.idle();
  assert.equal(waiting(), 0, "stopped: no more checks");
});

test("the last-resort collection gives back committed heap that a burst of garbage grew", () => {
  // The collector exposedCollector() returns under --expose-gc, reached here without the flag.
  v8.setFlagsFromString("--expose-gc");
  const gc = vm.runInNewContext("gc") as (o: object) => void;
  const total = () => v8.getHeapStatistics().total_heap_size;
  let keep: unknown[] = [];
  for (let i = 0; i < 400_000; i++) keep.push({ i, s: `x${i}` });
  const grown = total();
  keep = [];
  gc({ type: "major", execution: "sync", flavor: "last-resort" });
  assert.ok(total() < grown - 16 * MiB, `heap total ${grown} → ${total()}`);
  assert.equal(keep.length, 0);
});

test("a burst of batches arms one timer per quiet period, and the trim waits for the last quiet spell", () => {
  const { advance, armed, heap, trims, t } = trimmer();
  heap.bytes = 150 * MiB;
  // 1,000 batches, 1 ms each, the worker waiting 1 ms for the next (busy and idle every time).
  for (let i = 0; i < 1_000; i++) {
    t.idle();
    advance(1);
    t.busy();
    advance(1);
  }
  assert.ok(armed() <= 2, `timers armed for 1,000 batches: ${armed()}`);
  assert.deepEqual(trims, []);
  t.idle(); // quiet from now (t = 2,000 ms)
  advance(1_999);
  assert.deepEqual(trims, [], "not before quietMs of this quiet spell");
  advance(1);
  assert.deepEqual(trims, [150 * MiB]);
  assert.ok(armed() <= 3, `timers armed in all: ${armed()}`);
});
