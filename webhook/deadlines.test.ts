import { test } from "node:test";
import assert from "node:assert/strict";
import { Deadlines } from "./deadlines.ts";
import { until } from "../test/until.ts";

test("a deadline expires once its time has passed; a cancelled one never does", async () => {
  const deadlines = new Deadlines(10);
  const fired: string[] = [];
  deadlines.add(30, () => fired.push("kept"));
  deadlines.cancel(deadlines.add(30, () => fired.push("cancelled")));
  await until("the kept deadline expired", () => fired.includes("kept"));
  // After an idle spell the timer starts again; this one is due after the cancelled one was.
  deadlines.add(0, () => fired.push("again"));
  await until("a later deadline expired too", () => fired.includes("again"));
  assert.deepEqual(fired, ["kept", "again"]);
});
