// CPU used by this process's descendants over a phase of a benchmark (the lab's webhook, syncer,
// nftlb, CONNECT proxy), read from /proc: utime + stime of every thread of each process, so a
// figure is the process's own work, whatever the load made it wait. Linux only (the lab is).
import { readdirSync, readFileSync } from "node:fs";
import process from "node:process";

/** USER_HZ: /proc/PID/stat counts in clock ticks of 10 ms on Linux. */
const TICK_MS = 10;

interface Stat {
  ppid: number;
  cpuMs: number;
}

function stat(pid: number): Stat | undefined {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, "utf8");
    // Fields after the command (which may hold spaces), from field 3 on: state ppid … utime stime.
    const rest = text.slice(text.lastIndexOf(")") + 2).split(" ");
    return { ppid: Number(rest[1]), cpuMs: (Number(rest[11]) + Number(rest[12])) * TICK_MS };
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
  const all = new Map<number, Stat>();
  for (const d of readdirSync("/proc"))
    if (/^\d+$/.test(d)) {
      const s = stat(Number(d));
      if (s) all.set(Number(d), s);
    }
  const mine = new Set([root]);
  // Parents are usually older (lower pids), but not always: walk until nothing is added.
  for (let grew = true; grew;) {
    grew = false;
    for (const [pid, s] of all)
      if (!mine.has(pid) && mine.has(s.ppid)) {
        mine.add(pid);
        grew = true;
      }
  }
  mine.delete(root);
  return new Map([...mine].map((pid) => [pid, { name: nameOf(pid), cpuMs: all.get(pid)!.cpuMs }]));
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
