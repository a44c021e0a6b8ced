// CPU used by a process, or by this process's descendants over a phase of a benchmark (the
// webhook bench's servers; the lab's webhook, syncer, nftlb, CONNECT proxy), read from /proc: the
// time on CPU of every thread of each process, so a figure is the process's own work, whatever the
// load made it wait. Linux only (the lab is).
import { readdirSync, readFileSync } from "node:fs";
import process from "node:process";

/**
 * CPU time of a process so far (ns), all its threads (V8's GC and compiler threads too), from
 * /proc/PID/task/TID/schedstat: exact, where /proc/PID/stat counts 10 ms ticks (too coarse for a
 * 2 s round). A thread that has ended is no longer counted. `undefined` once the process is gone.
 */
export function cpuNs(pid: number): number | undefined {
  let tids: string[];
  try {
    tids = readdirSync(`/proc/${pid}/task`);
  } catch {
    return undefined;
  }
  let ns = 0;
  for (const tid of tids) {
    try {
      ns += Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, "utf8").split(" ")[0]);
    } catch {
      // a thread that ended meanwhile; its time is lost either way
    }
  }
  return ns;
}

/** A process's parent, from /proc/PID/stat; `undefined` once it is gone. */
function parentOf(pid: number): number | undefined {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, "utf8");
    // Fields after the command (which may hold spaces), from field 3 on: state ppid …
    return Number(text.slice(text.lastIndexOf(")") + 2).split(" ")[1]);
  } catch {
    return undefined;
  }
}

/** A process's name for a reader: a Node script's file name, else its command. */
function nameOf(pid: number): string {
  try {
    const argv = readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").filter(Boolean);
    const script = argv.find((a) => /\.(ts|js)$/.test(a));
    const sub = script ? argv[argv.indexOf(script) + 1] : undefined;
    if (script) return `${script.split("/").at(-1)}${sub && !sub.startsWith("-") ? ` ${sub}` : ""}`;
    return readFileSync(`/proc/${pid}/comm`, "utf8").trim();
  } catch {
    return `pid ${pid}`;
  }
}

/** CPU ms so far of every descendant of `root`, by pid, with its name. */
export function descendantsCpu(root = process.pid): Map<number, { name: string; cpuMs: number }> {
  const parents = new Map<number, number>();
  for (const d of readdirSync("/proc"))
    if (/^\d+$/.test(d)) {
      const ppid = parentOf(Number(d));
      if (ppid !== undefined) parents.set(Number(d), ppid);
    }
  const mine = new Set([root]);
  // Parents are usually older (lower pids), but not always: walk until nothing is added.
  for (let grew = true; grew;) {
    grew = false;
    for (const [pid, ppid] of parents)
      if (!mine.has(pid) && mine.has(ppid)) {
        mine.add(pid);
        grew = true;
      }
  }
  mine.delete(root);
  const out = new Map<number, { name: string; cpuMs: number }>();
  for (const pid of mine) {
    const ns = cpuNs(pid);
    if (ns !== undefined) out.set(pid, { name: nameOf(pid), cpuMs: ns / 1e6 });
  }
  return out;
}

/** CPU ms each named process used between two snapshots (a process in both), largest first. */
export function cpuBetween(
  before: Map<number, { name: string; cpuMs: number }>,
  after: Map<number, { name: string; cpuMs: number }>,
): { name: string; ms: number }[] {
  const by = new Map<string, number>();
  for (const [pid, a] of after) {
    const b = before.get(pid);
    if (b) by.set(a.name, (by.get(a.name) ?? 0) + a.cpuMs - b.cpuMs);
  }
  return [...by].map(([name, ms]) => ({ name, ms })).sort((x, y) => y.ms - x.ms);
}
