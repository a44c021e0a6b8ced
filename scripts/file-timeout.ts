// A deadline for each test file that scripts/test.ts runs, so one hang cannot stall the run.
// node:test's own `timeout` is per test: it misses a file that hangs in top-level code or a
// hook, one whose open handle keeps the process alive after its last test, and one whose event
// loop is blocked (a spawnSync that never returns). So the deadline is kept here, in the parent:
// the runner spawns one child per file (isolation "process"); at the deadline that child and
// every process it started are killed with SIGKILL, which nothing can ignore, and the runner
// reports the file as failed.
import { readdirSync, readFileSync } from "node:fs";

export interface Proc {
  pid: number;
  ppid: number;
  args: string[];
}

/** The processes running now (Linux /proc; the only platform kube-nftlb's tests run on). */
export function processes(): Proc[] {
  const all: Proc[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      // After the command's closing parenthesis: state, ppid, ...
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8").split(") ").at(-1)!.split(" ");
      const args = readFileSync(`/proc/${entry}/cmdline`, "utf8").split("\0");
      all.push({ pid: Number(entry), ppid: Number(stat[1]), args });
    } catch {
      // exited meanwhile
    }
  }
  return all;
}

/** `root` and everything below it, parents first. */
function tree(root: number, procs: Proc[]): number[] {
  const out = [root];
  for (let i = 0; i < out.length; i++) out.push(...procs.filter((p) => p.ppid === out[i]).map((p) => p.pid));
  return out;
}

function killFileProcess(file: string): void {
  const procs = processes();
  const child = procs.find((p) => p.ppid === process.pid && p.args.includes(file));
  if (child === undefined) return;
  // Stop the parent first, so it starts nothing new while its children go.
  for (const pid of tree(child.pid, procs)) {
    try {
      process.kill(pid, "SIGKILL");
    } catch {
      // already gone
    }
  }
}

export interface FileDeadlines {
  /** The runner started `file` (its test:dequeue at the top level). */
  started(file: string): void;
  /** The runner saw `file` end (its test:complete at the top level). */
  finished(file: string): void;
  /** The files that ran out of time. */
  readonly expired: string[];
}

export function fileDeadlines(ms: number, say: (line: string) => void): FileDeadlines {
  const timers = new Map<string, NodeJS.Timeout>();
  const expired: string[] = [];
  return {
    started(file) {
      if (timers.has(file)) return;
      const timer = setTimeout(() => {
        expired.push(file);
        say(`${file}: still running after ${ms} ms (TEST_FILE_TIMEOUT_MS); killed with its processes`);
        killFileProcess(file);
      }, ms);
      timer.unref();
      timers.set(file, timer);
    },
    finished(file) {
      clearTimeout(timers.get(file));
    },
    expired,
  };
}
