// nftlb's capacity (SPEC §4), checked before anything is sent:
// - marks run from 1 to 4,095 and every backend of every farm takes one, so one nftlb holds at
//   most 4,095 backends in all; beyond that backends silently share a mark (broken persistence
//   and accounting), so a change that would cross the limit is refused instead;
// - every farm address costs about 256 KB of nftlb memory (a 65,535-entry port array): reported,
//   so operators can size nftlb's memory limit before the OOM killer does it for them.
// Pure: counts in, decisions out.
import type { Farm } from "../nftlb/types.ts";

export const MAX_BACKENDS = 4095;
export const BYTES_PER_ADDRESS = 256 * 1024;

export interface Capacity {
  backends: number;
  addresses: number;
  farms: number;
  /** nftlb's estimated memory for farm addresses. */
  addressBytes: number;
}

export function measure(farms: Iterable<Farm>): Capacity {
  let backends = 0;
  let addresses = 0;
  let count = 0;
  for (const f of farms) {
    count++;
    backends += f.backends.length;
    addresses += f.addresses.length;
  }
  return { backends, addresses, farms: count, addressBytes: addresses * BYTES_PER_ADDRESS };
}

export interface Refusal {
  key: string;
  /** Backends the key would have after the change, and how many it has now. */
  wanted: number;
  has: number;
  message: string;
}

/**
 * Which keys' changes fit under the backend limit. `actual` is what nftlb holds (every farm,
 * ours or not: all share one mark space); `desired` the backends each key wants; `has` what each
 * key holds now. Shrinking keys go first (they free marks), then growing ones, in `order`;
 * a growing key that does not fit is refused as a whole and keeps what it has.
 */
export function admit(
  actualTotal: number,
  changes: ReadonlyMap<string, { wanted: number; has: number }>,
  limit = MAX_BACKENDS,
): { total: number; refused: Refusal[] } {
  let total = actualTotal;
  const growing: [string, { wanted: number; has: number }][] = [];
  for (const [key, c] of changes) {
    if (c.wanted <= c.has) total += c.wanted - c.has;
    else growing.push([key, c]);
  }
  growing.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  const refused: Refusal[] = [];
  for (const [key, c] of growing) {
    const after = total + c.wanted - c.has;
    if (after <= limit) {
      total = after;
      continue;
    }
    refused.push({
      key,
      wanted: c.wanted,
      has: c.has,
      message:
        // No running totals in the text: the same refusal must read the same on every
        // reconcile, or each one would post a new Event.
        `not programmed: its ${c.wanted} backends would take this nftlb over its limit of ${limit} ` +
        `backends (one connection mark each, marks 1-${limit}); ` +
        `it keeps its current ${c.has}. Scale down, or move Services to nodes with room.`,
    });
  }
  return { total, refused };
}
