import assert from "node:assert/strict";
import { test } from "node:test";
import { formatSpread, median, pairedRounds, spread } from "./paired-rounds.ts";

test("median of an odd and an even count; spread is min–max", () => {
  assert.equal(median([3, 1, 2]), 2);
  assert.equal(median([4, 1, 3, 2]), 2.5);
  assert.deepEqual(spread([0.9, 1.2, 0.7]), { median: 0.9, min: 0.7, max: 1.2 });
  assert.equal(formatSpread({ median: 0.9, min: 0.7, max: 1.2 }), "0.90 (0.70–1.20)");
});

test("rounds alternate which side goes first and pair each round's two results", async () => {
  const order: string[] = [];
  let n = 0;
  const pairs = await pairedRounds(
    4,
    () => (order.push("floor"), Promise.resolve(`f${n++}`)),
    () => (order.push("ours"), Promise.resolve(`o${n++}`)),
  );
  assert.deepEqual(order, ["floor", "ours", "ours", "floor", "floor", "ours", "ours", "floor"]);
  assert.deepEqual(pairs, [
    { floor: "f0", ours: "o1" },
    { floor: "f3", ours: "o2" },
    { floor: "f4", ours: "o5" },
    { floor: "f7", ours: "o6" },
  ]);
});
