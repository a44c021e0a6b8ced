import { test } from "node:test";
import assert from "node:assert/strict";
import { createLogger } from "./log.ts";
import { createShutdown } from "./shutdown.ts";

const quiet = () => createLogger({ name: "t", level: "silent" });

test("steps run once, in the order added, and a failing step does not stop the next", async () => {
  const order: string[] = [];
  const s = createShutdown({ log: quiet() });
  s.add("unready", () => void order.push("unready"));
  s.add("fails", () => {
    order.push("fails");
    throw new Error("x");
  });
  s.add("drain", async () => {
    await Promise.resolve();
    order.push("drain");
  });
  assert.equal(s.started, false);
  const a = s.run("test");
  const b = s.run("again");
  assert.equal(a, b);
  await a;
  assert.deepEqual(order, ["unready", "fails", "drain"]);
  assert.equal(s.started, true);
});

test("the deadline bounds a step that never ends", async () => {
  const s = createShutdown({ log: quiet(), timeoutMs: 50 });
  let after = false;
  s.add("hang", () => new Promise<void>(() => {}));
  s.add("after", () => void (after = true));
  await s.run("test");
  assert.equal(after, false);
});

// SIGHUP, not SIGUSR2: node writes a diagnostic report file on SIGUSR2 under the test runner.
test("onSignals runs the steps on the signal and resolves with its name", async () => {
  const s = createShutdown({ log: quiet() });
  let ran = false;
  s.add("step", () => void (ran = true));
  const before = process.listenerCount("SIGHUP");
  const done = s.onSignals(["SIGHUP"]);
  assert.equal(process.listenerCount("SIGHUP"), before + 1);
  process.kill(process.pid, "SIGHUP");
  assert.equal(await done, "SIGHUP");
  assert.equal(ran, true);
  assert.equal(process.listenerCount("SIGHUP"), before);
});
