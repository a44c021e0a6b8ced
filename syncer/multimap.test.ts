import { test } from "node:test";
import assert from "node:assert/strict";
import { Multimap } from "./multimap.ts";

const values = (m: Multimap, k: string) => [...m.get(k)];

test("a key holds every value added and not deleted, once each, in insertion order", () => {
  const m = new Multimap();
  m.add("a", "x");
  m.add("a", "x");
  assert.deepEqual(values(m, "a"), ["x"]);
  m.add("a", "y");
  m.add("a", "z");
  m.add("a", "y");
  assert.deepEqual(values(m, "a"), ["x", "y", "z"]);
  m.delete("a", "y");
  assert.deepEqual(values(m, "a"), ["x", "z"]);
  m.delete("a", "x");
  assert.deepEqual(values(m, "a"), ["z"]);
  m.add("a", "w");
  assert.deepEqual(values(m, "a"), ["z", "w"]);
});

test("deleting the last value removes the key; deleting what is not there changes nothing", () => {
  const m = new Multimap();
  m.add("a", "x");
  m.add("b", "y");
  m.delete("a", "other");
  m.delete("missing", "x");
  assert.deepEqual(values(m, "a"), ["x"]);
  m.delete("a", "x");
  assert.deepEqual(values(m, "a"), []);
  assert.equal(m.size, 1);
  m.add("b", "z");
  m.delete("b", "y");
  m.delete("b", "z");
  assert.equal(m.size, 0);
});

test("the same sets as a Map of Sets under a random sequence of adds and deletes", () => {
  const m = new Multimap();
  const ref = new Map<string, Set<string>>();
  let seed = 7;
  const rnd = (n: number) => (seed = (seed * 1103515245 + 12345) % 2 ** 31) % n;
  for (let i = 0; i < 5_000; i++) {
    const [k, v] = [`k${rnd(5)}`, `v${rnd(4)}`];
    if (rnd(2) === 0) {
      m.add(k, v);
      ref.set(k, (ref.get(k) ?? new Set()).add(v));
    } else {
      m.delete(k, v);
      ref.get(k)?.delete(v);
      if (ref.get(k)?.size === 0) ref.delete(k);
    }
    for (const key of ["k0", "k1", "k2", "k3", "k4"])
      assert.deepEqual(new Set(m.get(key)), ref.get(key) ?? new Set(), `step ${i}, ${key}`);
  }
  assert.equal(m.size, ref.size);
});
