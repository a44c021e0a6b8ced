// The farms the client last saw (its `known()`), indexed by what validating a write asks of every
// other farm nftlb holds: which farms sit on an IP, which hold a farm mark. With 1,000 farms
// present, walking them all for that cost about as much as the rest of a one-farm write's checks.
// And a journal of the names changed, so that an index following these farms (the syncer's
// scope index) catches up with what changed, not by comparing every farm.
import type { Farm } from "./types.ts";
import { farmMarkOf } from "./marks.ts";
import type { FarmLookup } from "./validate.ts";

const NONE: readonly string[] = [];

/** A map whose changes can be followed: the names set or deleted since a version. */
export interface Journaled {
  /** Bumped by every change. */
  readonly version: number;
  /** The names changed after `version` (some more than once), or undefined: too far back, or cleared since. */
  changedSince(version: number): readonly string[] | undefined;
}

/** The client's farms as it hands them out (`known()`): read only, with the journal of changes. */
export type ReadonlyKnownFarms = ReadonlyMap<string, Farm> & Journaled;

export class KnownFarms extends Map<string, Farm> implements FarmLookup, Journaled {
  readonly #byIp = new Map<string, Set<string>>();
  readonly #byMark = new Map<number, Set<string>>();
  /** Names changed, oldest first; #log[i] is change number #base + i + 1. */
  #log: string[] = [];
  #base = 0;

  get version(): number {
    return this.#base + this.#log.length;
  }

  changedSince(version: number): readonly string[] | undefined {
    if (version < this.#base || version > this.version) return undefined;
    return this.#log.slice(version - this.#base);
  }

  override set(name: string, farm: Farm): this {
    const was = super.get(name);
    if (was !== undefined) this.#index(name, was, -1);
    super.set(name, farm);
    this.#index(name, farm, 1);
    this.#changed(name);
    return this;
  }

  override delete(name: string): boolean {
    const was = super.get(name);
    if (was === undefined) return false;
    this.#index(name, was, -1);
    this.#changed(name);
    return super.delete(name);
  }

  override clear(): void {
    super.clear();
    this.#byIp.clear();
    this.#byMark.clear();
    // Followers start over from the farms themselves.
    this.#base = this.version + 1;
    this.#log = [];
  }

  #changed(name: string): void {
    this.#log.push(name);
    // Kept to a few times the farms: a follower further behind than that walks them all.
    if (this.#log.length > 4 * this.size + 1024) {
      const drop = this.#log.length >> 1;
      this.#log = this.#log.slice(drop);
      this.#base += drop;
    }
  }

  withIp(ip: string): Iterable<string> {
    return this.#byIp.get(ip) ?? NONE;
  }

  withFarmMark(mark: number): Iterable<string> {
    return this.#byMark.get(mark) ?? NONE;
  }

  #index(name: string, farm: Farm, by: 1 | -1): void {
    for (const a of farm.addresses) edit(this.#byIp, a["ip-addr"], name, by);
    const m = farmMarkOf(farm);
    if (m !== undefined) edit(this.#byMark, m, name, by);
  }
}

function edit<K>(index: Map<K, Set<string>>, key: K, name: string, by: 1 | -1): void {
  const names = index.get(key);
  if (by === 1) {
    if (names === undefined) index.set(key, new Set([name]));
    else names.add(name);
  } else if (names?.delete(name) && names.size === 0) index.delete(key);
}
