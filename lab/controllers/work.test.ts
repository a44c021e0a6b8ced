import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { workLoop } from "./work.ts";
import { until } from "../../test/until.ts";

const tick = () => new Promise((r) => setTimeout(r, 5));

describe("workLoop", () => {
  it("coalesces a key added many times while waiting, and reruns a key changed while it runs", async () => {
    const runs: string[] = [];
    let release: () => void = () => undefined;
    const loop = workLoop(async (key) => {
      runs.push(key);
      if (runs.length === 1) await new Promise<void>((r) => (release = r));
      return undefined;
    });
    loop.add("a"); // starts running, blocked
    loop.add("a"); // changed while running: one more run after
    loop.add("a");
    await tick();
    assert.deepEqual(runs, ["a"], "never two runs of one key at once");
    release();
    await loop.idle();
    assert.deepEqual(runs, ["a", "a"]);
    loop.stop();
  });
  it("retries a key whose handler throws, and reports the error", async () => {
    const errors: string[] = [];
    let n = 0;
    const loop = workLoop(
      () => (++n < 3 ? Promise.reject(new Error(`boom ${n}`)) : Promise.resolve(undefined)),
      { retryMs: 1, onError: (k, e) => errors.push(`${k}: ${(e as Error).message}`) },
    );
    loop.add("k");
    await until("three runs", () => n >= 3, { timeoutMs: 5000, intervalMs: 5 });
    assert.equal(n, 3);
    assert.deepEqual(errors, ["k: boom 1", "k: boom 2"]);
    loop.stop();
  });
  it("a handler asking to look again later runs again by itself", async () => {
    let n = 0;
    const loop = workLoop(() => Promise.resolve(++n === 1 ? Date.now() + 10 : undefined));
    loop.add("k");
    await until("the second run", () => n >= 2, { timeoutMs: 5000, intervalMs: 5 });
    assert.equal(n, 2);
    loop.stop();
  });
  it("after stop nothing runs", async () => {
    let n = 0;
    const loop = workLoop(() => Promise.resolve(++n));
    loop.stop();
    loop.add("k");
    await tick();
    assert.equal(n, 0);
  });
});
