// nftlb's capacity (SPEC §4, docs/nftlb.md), checked before anything is sent. With kube-nftlb
// assigning the marks there is no node-wide backend limit any more; what remains:
// - backends per farm: one mark each, 0x002-0xFFF, so 4,094 at most;
// - nftlb's memory: every farm address holds a 65,535-entry port array (~256 KiB). Past the
//   container's memory limit the OOM killer restarts nftlb, which flushes every farm: a change
//   that would take the estimate past the limit is refused instead;
// - the time a write takes, which grows with the farms present: batches are cut so that one
//   POST stays well inside the client's timeout; and a POST's deadline grows with its estimate
//   (writeDeadlineMs), as the estimate assumes a quiet CPU.
// A refused Service keeps exactly what nftlb has for it. Shrinking is never refused.
// Pure: counts in, decisions out.
import type { Farm } from "../nftlb/types.ts";
import type { FarmPatch } from "../nftlb/serialize.ts";
import { MAX_BACKENDS_PER_FARM } from "../nftlb/marks.ts";

/** `int port_list[65535]` per address (nftlb 1.0.7 include/addresses.h). */
export const BYTES_PER_ADDRESS = 65_535 * 4;
/** nftlb's RSS with no farm, and per backend (measured, bench/scale.ts). */
export const BASE_BYTES = 8 * 1024 * 1024;
export const BYTES_PER_BACKEND = 2 * 1024;
/** Part of the memory limit the estimate may use: nftlb needs room to render rules and answers. */
export const MEMORY_HEADROOM = 0.85;

export interface Capacity {
  backends: number;
  addresses: number;
  farms: number;
  /** nftlb's estimated memory (RSS) for what it holds. */
  memoryBytes: number;
}

export const estimateMemory = (addresses: number, backends: number): number =>
  BASE_BYTES + addresses * BYTES_PER_ADDRESS + backends * BYTES_PER_BACKEND;

export function measure(farms: Iterable<Farm>): Capacity {
  let backends = 0;
  let addresses = 0;
  let count = 0;
  for (const f of farms) {
    count++;
    backends += f.backends.length;
    addresses += f.addresses.length;
  }
  return { backends, addresses, farms: count, memoryBytes: estimateMemory(addresses, backends) };
}

export interface Footprint {
  addresses: number;
  backends: number;
  /** The largest farm's backends. */
  widest: number;
}

export const footprint = (farms: readonly Farm[]): Footprint => ({
  addresses: farms.reduce((n, f) => n + f.addresses.length, 0),
  backends: farms.reduce((n, f) => n + f.backends.length, 0),
  widest: farms.reduce((n, f) => Math.max(n, f.backends.length), 0),
});

export type RefusalReason = "backends-per-farm" | "memory";

export interface Refusal {
  key: string;
  reason: RefusalReason;
  message: string;
}

export interface Limits {
  /** The nftlb container's memory limit in bytes; undefined: estimated and reported, not enforced. */
  memoryBytes?: number | undefined;
}

const MiB = (n: number) => `${Math.round(n / 1024 / 1024)} MiB`;

/**
 * Which keys' changes fit. `current` is what nftlb holds (every farm, ours or not: one process,
 * one memory); `changes` what each changed key wants and has now. Shrinking keys go first (they
 * free memory), then growing ones by key; a key that does not fit is refused as a whole.
 * Messages carry no running totals: the same refusal reads the same on every reconcile, or
 * each would post a new Event.
 */
export function admit(
  current: Capacity,
  changes: ReadonlyMap<string, { wanted: Footprint; has: Footprint }>,
  limits: Limits = {},
): { memoryBytes: number; refused: Refusal[] } {
  let addresses = current.addresses;
  let backends = current.backends;
  const refused: Refusal[] = [];
  const growing: [string, { wanted: Footprint; has: Footprint }][] = [];
  for (const [key, c] of changes) {
    if (c.wanted.widest > MAX_BACKENDS_PER_FARM) {
      refused.push({
        key,
        reason: "backends-per-farm",
        message:
          `not programmed: a farm of this Service would have ${c.wanted.widest} backends; nftlb holds at ` +
          `most ${MAX_BACKENDS_PER_FARM} per farm (one connection mark each, 0x002-0xfff). ` +
          `It keeps what it has (${c.has.widest}). Scale the Service down or split it.`,
      });
    } else if (c.wanted.addresses <= c.has.addresses) {
      addresses += c.wanted.addresses - c.has.addresses;
      backends += c.wanted.backends - c.has.backends;
    } else growing.push([key, c]);
  }
  growing.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  const limit = limits.memoryBytes === undefined ? Infinity : limits.memoryBytes * MEMORY_HEADROOM;
  for (const [key, c] of growing) {
    const a = addresses + c.wanted.addresses - c.has.addresses;
    const b = backends + c.wanted.backends - c.has.backends;
    if (estimateMemory(a, b) <= limit) {
      addresses = a;
      backends = b;
      continue;
    }
    refused.push({
      key,
      reason: "memory",
      message:
        `not programmed: its ${c.wanted.addresses} farm addresses (~256 KiB of nftlb memory each) would ` +
        `take nftlb past ${Math.round(MEMORY_HEADROOM * 100)}% of its memory limit ` +
        `(${MiB(limits.memoryBytes ?? 0)}). It keeps what it has. Raise the nftlb container's memory ` +
        `limit (docs/operators.md), or move Services to nodes with room.`,
    });
  }
  return { memoryBytes: estimateMemory(addresses, backends), refused };
}

/**
 * nftlb's time to write one farm with `farms` farms present (those of the same POST before it
 * included), and per backend sent. Measured on nftlb 1.0.7 with client marks, farms of 10
 * endpoints (bench/post-cost.ts, docs/nftlb.md): ~6.4 ms a farm with ~1,060 present, ~30 ms with
 * ~3,060, ~36 ms with ~3,360 — growing as about farms^1.5, not linearly; one raw POST of 5,000
 * farms 101.7 s on a CPU (101.8-130.3 s wall), this model's sum 125 s; 1,000 backends in one farm ~55 ms. A farm
 * already there, sent again, is counted like a new one (measured about as dear: errs long).
 */
export const writeMs = (farms: number, backends: number): number =>
  0.5 + 0.05 * backends + 5.6 * (farms / 1000) ** 1.5;

/**
 * What one POST costs beyond its farms, with `farms` present after it. nftlb's own part is small
 * (bench/post-cost.ts: a POST of one farm less one farm's share of a POST of ten: ~2 ms with
 * none present, 2-4 ms with 1,000, 9-21 ms with 3,000, under one farm's write); the client's
 * read-back of every POST is counted as one GET /farms (~0.055 ms a farm in nftlb), its upper
 * bound: per-farm GETs of the farms just written cost ~1-2 ms each (nftlb/client.ts).
 */
export const readBackMs = (farms: number): number => 0.06 * farms;
export const postFixedMs = (farms: number): number => 2 + 0.004 * farms + readBackMs(farms);

/** nftlb's estimated time for one POST of `upserts` with `farmsPresent` farms before it, read-back included (ms). */
export function postMs(upserts: readonly FarmPatch[], farmsPresent: number): number {
  let ms = postFixedMs(farmsPresent + upserts.length);
  for (const [i, f] of upserts.entries()) ms += writeMs(farmsPresent + i, f.backends?.length ?? 0);
  return ms;
}

/**
 * How many times its estimate one POST may take before the client gives up on it. The estimate
 * is a quiet CPU's: on a loaded 2-core node, batches cut at ~15 s took over 30 s (bench/lab-scale,
 * 5,000 × 10), and abandoning them only made nftlb, single-threaded, finish them anyway.
 */
export const WRITE_DEADLINE_FACTOR = 4;

/** The deadline of one POST of `upserts` with `farmsPresent` farms in nftlb (ms, by estimate). */
export function writeDeadlineMs(upserts: readonly FarmPatch[], farmsPresent: number): number {
  return upserts.length === 0 ? 0 : Math.ceil(WRITE_DEADLINE_FACTOR * postMs(upserts, farmsPresent));
}

/**
 * Upserts cut into POSTs whose estimated time (postMs: each POST's fixed part included) stays
 * under `budgetMs`, in order. Each POST takes as many as fit, so the POSTs are as few as the
 * budget allows (cutting a run in order, greedy is optimal); a farm over the budget goes alone.
 */
export function chunkUpserts(
  upserts: readonly FarmPatch[],
  farmsPresent: number,
  budgetMs: number,
): FarmPatch[][] {
  const chunks: FarmPatch[][] = [];
  let chunk: FarmPatch[] = [];
  let farms = farmsPresent;
  // The chunk's farms' estimate so far; its fixed part (with the farms present after it) is added
  // when deciding whether the next farm fits.
  let ms = 0;
  for (const f of upserts) {
    const cost = writeMs(farms, f.backends?.length ?? 0);
    if (chunk.length > 0 && ms + cost + postFixedMs(farms + 1) > budgetMs) {
      chunks.push(chunk);
      chunk = [];
      ms = 0;
    }
    chunk.push(f);
    ms += cost;
    farms++;
  }
  if (chunk.length > 0) chunks.push(chunk);
  return chunks;
}
