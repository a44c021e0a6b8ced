// Where a process's resident memory is, from /proc/PID/smaps (MiB): glibc malloc's main heap (the
// brk `[heap]`), its other arenas (anonymous 64 MiB-aligned heaps of 64 MiB, the rest of each
// reserved `---p`), the other anonymous mappings (V8's heap pages among them; anything malloc
// mmaps, chunks of 128 KiB and more by default), and files (the node binary, libraries).
import { readFileSync } from "node:fs";

export interface Resident {
  rss: number;
  brk: number;
  arenas: number;
  anon: number;
  files: number;
  other: number;
}

const ARENA = 64 * 2 ** 20;

export function resident(pid: number): Resident {
  const maps: { start: number; end: number; perms: string; path: string; rss: number }[] = [];
  for (const line of readFileSync(`/proc/${pid}/smaps`, "utf8").split("\n")) {
    const head = /^([0-9a-f]+)-([0-9a-f]+) (\S+) \S+ \S+ \S+\s*(.*)$/.exec(line);
    if (head) {
      const [, start, end, perms, p] = head;
      maps.push({ start: parseInt(start!, 16), end: parseInt(end!, 16), perms: perms!, path: p!, rss: 0 });
    } else if (line.startsWith("Rss:")) maps.at(-1)!.rss = Number(/(\d+) kB/.exec(line)![1]) / 1024;
  }
  const r: Resident = { rss: 0, brk: 0, arenas: 0, anon: 0, files: 0, other: 0 };
  maps.forEach((m, i) => {
    r.rss += m.rss;
    const next = maps[i + 1];
    const arena =
      m.path === "" &&
      m.start % ARENA === 0 &&
      next?.start === m.end &&
      next.perms === "---p" &&
      next.end === m.start + ARENA;
    const arenaWhole = m.path === "" && m.start % ARENA === 0 && m.end === m.start + ARENA;
    if (m.path === "[heap]") r.brk += m.rss;
    else if (arena || arenaWhole) r.arenas += m.rss;
    else if (m.path === "") r.anon += m.rss;
    else if (m.path.startsWith("/")) r.files += m.rss;
    else r.other += m.rss;
  });
  return r;
}
