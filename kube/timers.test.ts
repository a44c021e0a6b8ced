import { test } from "node:test";
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { readFile as readFileCb } from "node:fs";
import { realTimers } from "./timers.ts";

// The queue's batch window of 0 relies on this: a key queued from an I/O callback (a watch event)
// is handed out on the next turn, not after a 1 ms timer.
test("after(0) runs on the next turn, before a 1 ms timer set in the same I/O callback", async () => {
  const order = await new Promise<string[]>((resolve) => {
    readFileCb(import.meta.filename, () => {
      const seen: string[] = [];
      setTimeout(() => {
        seen.push("timeout");
        if (seen.length === 2) resolve(seen);
      }, 1);
      realTimers.after(0, () => {
        seen.push("after(0)");
        if (seen.length === 2) resolve(seen);
      });
    });
  });
  assert.deepEqual(order, ["after(0)", "timeout"]);
});

test("after(0) can be cancelled, and keys queued in the same turn are seen when it runs", async () => {
  let ran = false;
  realTimers.after(0, () => (ran = true)).cancel();
  const seen: number[] = [];
  let pending = 0;
  const done = new Promise<void>((resolve) =>
    realTimers.after(0, () => {
      seen.push(pending);
      resolve();
    }),
  );
  pending = 3; // set after scheduling, in the same turn
  await done;
  await readFile(import.meta.filename); // a later turn: the cancelled one would have run by now
  assert.equal(ran, false);
  assert.deepEqual(seen, [3]);
});
