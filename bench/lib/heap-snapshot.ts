// A V8 heap snapshot of a running child started with `--heapsnapshot-signal=SIGUSR2
// --diagnostic-dir=DIR`, for attributing its heap by retainer.
import type { ChildProcess } from "node:child_process";
import { readdirSync, statSync } from "node:fs";
import path from "node:path";

/** Polls `cond` until it holds (the caller's deadline and liveness check). */
export type Await = (what: string, cond: () => boolean) => Promise<unknown>;

/** SIGUSR2 → the child writes Heap.*.heapsnapshot into `dir`; resolves with its path once complete. */
export async function heapSnapshot(child: ChildProcess, dir: string, wait: Await): Promise<string> {
  const before = new Set(readdirSync(dir));
  child.kill("SIGUSR2");
  const fresh = () => readdirSync(dir).find((f) => f.endsWith(".heapsnapshot") && !before.has(f));
  // Complete when its size stops changing between two polls.
  let last = -1;
  await wait("a heap snapshot", () => {
    const f = fresh();
    if (f === undefined) return false;
    const size = statSync(path.join(dir, f)).size;
    const done = size > 0 && size === last;
    last = size;
    return done;
  });
  return path.join(dir, fresh()!);
}
