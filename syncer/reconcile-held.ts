// The Services whose farms a pass leaves exactly as nftlb has them: parked ones (nftlb refused
// their farms; the queue keeps them parked until the Service changes) and those whose change
// would take nftlb past its capacity (capacity.ts decides; this remembers who was refused, so a
// refusal is counted and logged once, and retried on every pass until room is made).
import type { Farm } from "../nftlb/types.ts";
import { admit, footprint, type Capacity, type Footprint, type Refusal } from "./capacity.ts";

export interface HeldDeps {
  /** Read-only: whether the queue holds the key parked. */
  isParked: (key: string) => boolean;
  /** The nftlb container's memory limit (bytes); unset: nftlb's memory is estimated, not enforced. */
  memoryBytes: number | undefined;
  /** Every pass a Service stays refused (for its Event); `first` only when it newly is. */
  refused: (r: Refusal, first: boolean) => void;
}

const NONE: Footprint = { addresses: 0, backends: 0, widest: 0 };

export class HeldKeys {
  readonly #d: HeldDeps;
  #refused = new Set<string>();

  constructor(deps: HeldDeps) {
    this.#d = deps;
  }

  /** Keys refused for capacity on the last pass: planned again, room may have been made. */
  get refusedLastPass(): ReadonlySet<string> {
    return this.#refused;
  }

  /**
   * The keys to leave alone this pass, and the capacity refusals among them. Pure: a pass may
   * plan twice (nftlb read again under it), so the refusals count only once `commit`ted.
   * `desired` and `actual`: the farms planned; `current`: what nftlb holds node-wide.
   */
  assess(
    desired: readonly Farm[],
    actual: readonly Farm[],
    ownerOfFarm: (n: string) => string,
    current: Capacity,
  ): { held: Set<string>; refused: Refusal[] } {
    const held = new Set<string>();
    for (const f of [...desired, ...actual]) {
      const key = ownerOfFarm(f.name);
      if (this.#d.isParked(key)) held.add(key);
    }
    const byKey = (farms: readonly Farm[]) => {
      const m = new Map<string, Farm[]>();
      for (const f of farms) {
        const key = ownerOfFarm(f.name);
        if (!held.has(key)) m.set(key, [...(m.get(key) ?? []), f]);
      }
      return m;
    };
    const wanted = byKey(desired);
    const has = byKey(actual);
    const changes = new Map<string, { wanted: Footprint; has: Footprint }>();
    for (const key of new Set([...wanted.keys(), ...has.keys()])) {
      const w = wanted.get(key);
      const h = has.get(key);
      const c = { wanted: w ? footprint(w) : NONE, has: h ? footprint(h) : NONE };
      if (JSON.stringify(c.wanted) !== JSON.stringify(c.has)) changes.set(key, c);
    }
    const { refused } = admit(current, changes, { memoryBytes: this.#d.memoryBytes });
    for (const r of refused) held.add(r.key);
    return { held, refused };
  }

  /** The pass's refusals, as planned: each reported, counted once while it lasts. */
  commit(refused: readonly Refusal[]): void {
    const now = new Set<string>();
    for (const r of refused) {
      now.add(r.key);
      this.#d.refused(r, !this.#refused.has(r.key));
    }
    this.#refused = now;
  }
}
