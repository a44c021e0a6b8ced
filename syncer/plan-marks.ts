// Marks for the farms plan sends (pure). kube-nftlb, not nftlb, picks every backend's mark:
// nftlb's own pick scans every backend of every farm from one node-wide pool of 4,095
// (docs/nftlb.md). A backend keeps the mark nftlb reports for it (read back from GET, so it
// survives reconciles and syncer restarts: persistence and connection tracking are keyed on
// it); a new backend takes the lowest mark from 0x002 that no other live backend of the farm
// holds. Backends being removed are set down in the same POST, so their marks are free.
import type { Backend, Farm } from "../nftlb/types.ts";
import {
  BACKEND_MARK_MAX,
  BACKEND_MARK_MIN,
  FARM_MARK_LIMIT,
  FARM_MARK_STEP,
  formatMark,
  isBackendMark,
  parseMark,
} from "../nftlb/marks.ts";
import type { NormalFarm } from "./plan-normalise.ts";

/**
 * The desired farm with a mark on every backend it can hold (at most 4,094: the capacity check
 * refuses larger farms before plan), and, for a farm nftlb does not have yet, a farm mark taken
 * from `farmMarks` (the farm marks in use node-wide, updated).
 */
export function withMarks(d: Farm, actual: NormalFarm | undefined, farmMarks: FarmMarkPool): Farm {
  const taken = new Set<number>();
  const marks = new Map<string, number>();
  // Backends nft sees now keep their mark first; one coming back from down yields on a clash.
  const kept = d.backends
    .map((b) => ({ b, have: actual?.backends.get(b.name) }))
    .filter((x) => x.have !== undefined)
    .sort((x, y) => Number(x.have!.state === "down") - Number(y.have!.state === "down"));
  for (const { b, have } of kept) {
    const m = parseMark(have!.mark);
    if (isBackendMark(m) && !taken.has(m)) {
      taken.add(m);
      marks.set(b.name, m);
    }
  }
  let next = BACKEND_MARK_MIN;
  const backends: Backend[] = d.backends.map((b) => {
    let m = marks.get(b.name);
    if (m === undefined) {
      while (taken.has(next)) next++;
      if (next > BACKEND_MARK_MAX) return b;
      m = next;
      taken.add(m);
    }
    return { ...b, mark: formatMark(m) };
  });
  const farm: Farm = { ...d, backends };
  if (actual === undefined) {
    const fm = farmMarks.take();
    if (fm !== undefined) farm.mark = formatMark(fm);
  }
  return farm;
}

/** Farm marks 0x1000, 0x2000, … below the masquerade bit: the lowest ones no farm holds. */
export class FarmMarkPool {
  readonly #inUse: Set<number>;
  #next = FARM_MARK_STEP;
  constructor(inUse: Iterable<number>) {
    this.#inUse = new Set(inUse);
  }
  take(): number | undefined {
    while (this.#inUse.has(this.#next)) this.#next += FARM_MARK_STEP;
    if (this.#next >= FARM_MARK_LIMIT) return undefined;
    this.#inUse.add(this.#next);
    return this.#next;
  }
}

/** Farm marks nftlb's farms hold (from GET); 0 (none) is not one. */
export const farmMarksOf = (farms: Iterable<Farm>): Set<number> => {
  const out = new Set<number>();
  for (const f of farms) {
    const m = parseMark(typeof f?.mark === "string" ? f.mark : undefined);
    if (m !== undefined && m !== 0) out.add(m);
  }
  return out;
};

/**
 * Farms whose settings read nftlb's node-wide mark maps (`log: forward` feeds the flow map keyed
 * by mark) need a farm mark; a farm nftlb holds without one must be made anew to get it.
 */
export const needsFarmMark = (d: Farm): boolean => d.log.split(/\s+/).includes("forward");
