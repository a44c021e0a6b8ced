// Gives V8's grown heap back to the system once a process has gone quiet after a burst of work.
//
// Why: V8's memory reducer, which shrinks the heap after activity, never runs in the syncer.
// It decides from an allocation rate that V8 samples only at garbage collections; a process that
// goes fully idle after a burst collects nothing more, so the rate stays at the burst's and every
// check says "high alloc" (`--trace-memory-reducer` on the settled syncer at 10,000 Services:
// every 8 s, for as long as it ran). The heap stays at the size the burst grew it to, freed pages
// pooled, while the live set is ~30–50 MiB smaller. A full last-resort collection (what
// `gc({ flavor: "last-resort" })` runs with --expose-gc: compacting, freeing pooled pages) hands
// that back; a regular one gives nothing back to the system.
//
// When: after `quietMs` with nothing to do, and only if the heap grew by `growthBytes` since the
// last collection here (or since start), so a trickle of small changes never pays for one.

/** What the trim needs of a timer source (kube/timers.ts's Timers fits). */
export interface QuietTimers {
  now(): number;
  after(ms: number, fn: () => void): { cancel(): void };
}

export interface HeapTrimOptions {
  timers: QuietTimers;
  /** V8's committed heap now, bytes (v8.getHeapStatistics().total_heap_size). */
  heapTotal: () => number;
  /** A full, compacting, memory-reducing collection. */
  collect: () => void;
  quietMs?: number;
  growthBytes?: number;
  /** Told after each collection: the committed heap before and after, and how long it took. */
  onTrim?: (t: { beforeBytes: number; afterBytes: number; ms: number }) => void;
}

export interface HeapTrim {
  /** Work starts: a pending trim waits for the next quiet spell. */
  busy(): void;
  /** Nothing to do now: trim once this has lasted `quietMs`, if the heap grew enough. */
  idle(): void;
  stop(): void;
}

export const HEAP_TRIM_QUIET_MS = 2_000;
export const HEAP_TRIM_GROWTH_BYTES = 32 * 2 ** 20;

/** Whether the heap grew enough since `baseline` (the smallest it was since the last trim). */
export const worthTrimming = (heapTotal: number, baseline: number, growthBytes: number): boolean =>
  heapTotal - baseline >= growthBytes;

export function heapTrim(o: HeapTrimOptions): HeapTrim {
  const quietMs = o.quietMs ?? HEAP_TRIM_QUIET_MS;
  const growth = o.growthBytes ?? HEAP_TRIM_GROWTH_BYTES;
  let baseline = o.heapTotal();
  // One timer at a time, re-armed lazily: busy() only forgets when the quiet began, and the timer
  // looks at that when it fires. The worker says idle/busy around every batch; arming and
  // cancelling a timer each time cost a timer per batch of a burst, this one per quiet period.
  let timer: { cancel(): void } | undefined;
  /** When the current quiet spell began; undefined while busy. */
  let quietSince: number | undefined;
  let stopped = false;
  const check = () => {
    const before = o.heapTotal();
    baseline = Math.min(baseline, before);
    if (!worthTrimming(before, baseline, growth)) return;
    const t0 = performance.now();
    o.collect();
    const ms = performance.now() - t0;
    baseline = o.heapTotal();
    o.onTrim?.({ beforeBytes: before, afterBytes: baseline, ms });
  };
  const fire = () => {
    timer = undefined;
    // Busy now: the next idle() arms again.
    if (stopped || quietSince === undefined) return;
    // Busy and quiet again since it was armed: wait out the rest of this quiet spell.
    const left = quietSince + quietMs - o.timers.now();
    if (left > 0) return void (timer = o.timers.after(left, fire));
    quietSince = undefined; // once per quiet spell
    check();
  };
  return {
    busy() {
      quietSince = undefined;
    },
    idle() {
      if (stopped || quietSince !== undefined) return;
      quietSince = o.timers.now();
      timer ??= o.timers.after(quietMs, fire);
    },
    stop() {
      stopped = true;
      timer?.cancel();
      timer = undefined;
    },
  };
}

type Gc = (options?: { type: "major"; execution: "sync"; flavor: "last-resort" }) => void;

/** The last-resort collection when the process runs with --expose-gc, else undefined. */
export function exposedCollector(): (() => void) | undefined {
  const gc = (globalThis as { gc?: Gc }).gc;
  return typeof gc === "function"
    ? () => gc({ type: "major", execution: "sync", flavor: "last-resort" })
    : undefined;
}
