// Marks for the farms plan sends (pure). kube-nftlb, not nftlb, picks every backend's mark:
// nftlb's own pick scans every backend of every farm from one node-wide pool of 4,095
// (docs/nftlb.md). A backend keeps the mark nftlb reports for it (read back from GET, so it
// survives reconciles and syncer restarts: persistence and connection tracking are keyed on
// it); a new backend takes the mark of the entry it reuses, or the lowest from 0x002 that no
// other backend of the farm holds (plan-backends.ts).
import type { Backend, Farm } from "../nftlb/types.ts";
import {
  BACKEND_MARK_MAX,
  BACKEND_MARK_MIN,
  FARM_MARK_LIMIT,
  FARM_MARK_STEP,
  formatMark,
  farmMarkOf,
} from "../nftlb/marks.ts";

/**
 * A farm nftlb does not have yet, as its first POST: backend marks 0x002, 0x003, … (at most
 * 4,094: the capacity check refuses larger farms before plan) and a farm mark from `farmMarks`.
 * Farms nftlb has: plan-backends.ts.
 */
export function withMarks(d: Farm, farmMarks: FarmMarkPool): Farm {
  const backends: Backend[] = d.backends.map((b, i) =>
    BACKEND_MARK_MIN + i > BACKEND_MARK_MAX ? b : { ...b, mark: formatMark(BACKEND_MARK_MIN + i) },
  );
  const farm: Farm = { ...d, backends };
  const fm = farmMarks.take();
  if (fm !== undefined) farm.mark = formatMark(fm);
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
    const m = farmMarkOf(f);
    if (m !== undefined) out.add(m);
  }
  return out;
};

/**
 * Farms whose settings read nftlb's node-wide mark maps (`log: forward` feeds the flow map keyed
 * by mark) need a farm mark; a farm nftlb holds without one must be made anew to get it.
 */
export const needsFarmMark = (d: Farm): boolean => d.log.split(/\s+/).includes("forward");
