// Where nftlb's wall time goes while it answers one request: on a CPU, or waiting for one.
// nftlb is single-threaded and never sleeps while it programs a POST (measured: wall = on-CPU +
// run-queue wait, within 1%), so on a shared machine a POST's wall time is its own work plus
// whatever other load makes it wait. Two POSTs minutes apart see different loads; their on-CPU
// times compare the work itself. Read from /proc/PID/schedstat (nanoseconds: on CPU, waiting on
// a run queue), whose sum over a request is its wall time.
import { readFileSync } from "node:fs";
import { nftlbPid } from "../../lab/net/processes.ts";

export interface CpuSample {
  /** ms on a CPU so far. */
  onCpu: number;
  /** ms runnable but waiting for a CPU so far. */
  waiting: number;
}

export { nftlbPid };

/**
 * Synchronous, so it can run inside a trace callback at the very moment a request is sent;
 * undefined once that nftlb is gone (restarted).
 */
export function sample(pid: number): CpuSample | undefined {
  try {
    const [onCpu = 0, waiting = 0] = readFileSync(`/proc/${pid}/schedstat`, "utf8").split(" ").map(Number);
    return { onCpu: onCpu / 1e6, waiting: waiting / 1e6 };
  } catch {
    return undefined;
  }
}

export const between = (a: CpuSample | undefined, b: CpuSample | undefined): CpuSample | undefined =>
  a && b ? { onCpu: b.onCpu - a.onCpu, waiting: b.waiting - a.waiting } : undefined;

/**
 * A process's CPU from now on: each call of the returned function gives its time on a CPU and
 * waiting for one since this call (undefined once it is gone). Synchronous, like sample().
 */
export function cpuSince(pid: number): () => CpuSample | undefined {
  const start = sample(pid);
  return () => between(start, sample(pid));
}

/** cpuSince for the nftlb of a network namespace; always undefined when none runs there. */
export function nftlbCpuSince(ns: string): () => CpuSample | undefined {
  const pid = nftlbPid(ns);
  return pid === undefined ? () => undefined : cpuSince(pid);
}

/** The 1-minute load average, for every figure printed. */
export const load = (): string => readFileSync("/proc/loadavg", "utf8").split(" ")[0] ?? "?";
