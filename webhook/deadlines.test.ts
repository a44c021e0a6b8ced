import { test } from "node:test";
import assert from "node:assert/strict";
import { Deadlines } from "./deadlines.ts";
import { until } from "../test/until.ts";

const owners = (...names: string[]) => names.map((name) => ({ name }));

test("a deadline expires once its time has passed; a cancelled one never does", async () => {
  const fired: string[] = [];
  const deadlines = new Deadlines<{ name: string }>((o) => fired.push(o.name), 10);
  const [kept, cancelled, again] = owners("kept", "cancelled", "again");
  deadlines.add(kept!, performance.now() + 30);
  deadlines.add(cancelled!, performance.now() + 30);
  deadlines.cancel(cancelled!);
  await until("the kept deadline expired", () => fired.includes("kept"));
  // After an idle spell the timer starts again; this one is due after the cancelled one was.
  deadlines.add(again!, performance.now());
  await until("a later deadline expired too", () => fired.includes("again"));
  assert.deepEqual(fired, ["kept", "again"]);
});

test("setting an owner's deadline again replaces the first", async () => {
  const fired: string[] = [];
  const deadlines = new Deadlines<{ name: string }>((o) => fired.push(o.name), 10);
  const [moved, marker] = owners("moved", "marker");
  deadlines.add(moved!, performance.now());
  deadlines.add(moved!, performance.now() + 60_000);
  deadlines.add(marker!, performance.now() + 30);
  await until("a deadline set after it expired", () => fired.includes("marker"));
  assert.deepEqual(fired, ["marker"]);
  deadlines.cancel(moved!);
});

test("cancelling any of many leaves exactly the others, each expiring once", async () => {
  const fired: string[] = [];
  const deadlines = new Deadlines<{ name: string }>((o) => fired.push(o.name), 10);
  const all = owners(...Array.from({ length: 20 }, (_, i) => `o${i}`));
  for (const o of all) deadlines.add(o, performance.now() + 20);
  // First, last, middle, and one twice: each cancel moves another owner into its place.
  const cancelled = [all[0]!, all[19]!, all[7]!, all[8]!, all[7]!];
  for (const o of cancelled) deadlines.cancel(o);
  const kept = all.filter((o) => !cancelled.includes(o)).map((o) => o.name);
  await until("every kept deadline expired", () => kept.every((n) => fired.includes(n)));
  assert.deepEqual([...fired].sort(), [...kept].sort());
});

test("an expiry that cancels another due deadline: the other does not expire", async () => {
  const fired: string[] = [];
  const [first, second] = owners("first", "second");
  const deadlines = new Deadlines<{ name: string }>((o) => {
    fired.push(o.name);
    deadlines.cancel(o === first ? second! : first!);
  }, 10);
  deadlines.add(first!, performance.now());
  deadlines.add(second!, performance.now());
  await until("one expired", () => fired.length > 0);
  const marker = { name: "marker" };
  deadlines.add(marker, performance.now());
  await until("a later one expired", () => fired.includes("marker"));
  assert.equal(fired.filter((n) => n !== "marker").length, 1);
});
