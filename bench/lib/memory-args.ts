// bench/syncer-memory.ts's command line:
// `[--sources] [--glibc-defaults] [--heap-snapshot DIR] [--idle-seconds S] [--endpoints E] [N ...]`.
import { mkdirSync } from "node:fs";
import process from "node:process";

/**
 * Seconds the bench waits after settling before it reads the RSS again, idle and loaded alike:
 * the syncer gives its heap back 2 s after its last batch (runtime/heap-trim.ts), and what a node
 * keeps is the RSS after that, not the one at the moment the last farm was read back.
 */
export const QUIET_SECONDS = 6;

export interface MemoryArgs {
  sources: boolean;
  glibcDefaults: boolean;
  snapshots: string | undefined;
  idleSeconds: number;
  endpoints: number;
  sizes: number[];
}

const usage = (why: string): never => {
  console.error(
    `${why}\nusage: node bench/syncer-memory.ts [--sources] [--glibc-defaults] [--heap-snapshot DIR] [--idle-seconds S] [--endpoints 0..1000] [SERVICES ...]`,
  );
  process.exit(2);
};

export function memoryArgs(argv: readonly string[]): MemoryArgs {
  const args = [...argv];
  const flag = (name: string) => {
    const i = args.indexOf(name);
    return i >= 0 ? (args.splice(i, 1), true) : false;
  };
  const option = (name: string) => {
    const i = args.indexOf(name);
    if (i < 0) return undefined;
    const v = args.splice(i, 2)[1];
    return v === undefined ? usage(`${name} needs a value`) : v;
  };
  const sources = flag("--sources");
  // Without the DaemonSet's malloc settings (to compare with them). Not by an empty variable:
  // glibc would read MALLOC_MMAP_THRESHOLD_= as 0 in the bench's own process.
  const glibcDefaults = flag("--glibc-defaults");
  const snapshots = option("--heap-snapshot");
  if (snapshots) mkdirSync(snapshots, { recursive: true });
  const idleSeconds = Number(option("--idle-seconds") ?? QUIET_SECONDS);
  if (!Number.isFinite(idleSeconds) || idleSeconds < 0) usage("--idle-seconds takes a number of seconds");
  const endpoints = Number(option("--endpoints") ?? 10);
  const given = args.map(Number);
  const count = (n: number, max: number) => Number.isInteger(n) && n >= 0 && n <= max;
  if (!count(endpoints, 1000) || !given.every((n) => count(n, 60_000))) usage("bad count");
  return {
    sources,
    glibcDefaults,
    snapshots,
    idleSeconds,
    endpoints,
    sizes: given.length > 0 ? given : [1000, 10000],
  };
}
