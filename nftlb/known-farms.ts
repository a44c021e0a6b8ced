// The farms the client last saw (its `known()`), indexed by what validating a write asks of every
// other farm nftlb holds: which farms sit on an IP, which hold a farm mark. With 1,000 farms
// present, walking them all for that cost about as much as the rest of a one-farm write's checks.
import type { Farm } from "./types.ts";
import { parseMark } from "./marks.ts";
import type { FarmLookup } from "./validate.ts";

const NONE: readonly string[] = [];

export class KnownFarms extends Map<string, Farm> implements FarmLookup {
  readonly #byIp = new Map<string, Set<string>>();
  readonly #byMark = new Map<number, Set<string>>();

  override set(name: string, farm: Farm): this {
    const was = super.get(name);
    if (was !== undefined) this.#index(name, was, -1);
    super.set(name, farm);
    this.#index(name, farm, 1);
    return this;
  }

  override delete(name: string): boolean {
    const was = super.get(name);
    if (was === undefined) return false;
    this.#index(name, was, -1);
    return super.delete(name);
  }

  override clear(): void {
    super.clear();
    this.#byIp.clear();
    this.#byMark.clear();
  }

  withIp(ip: string): Iterable<string> {
    return this.#byIp.get(ip) ?? NONE;
  }

  withFarmMark(mark: number): Iterable<string> {
    return this.#byMark.get(mark) ?? NONE;
  }

  #index(name: string, farm: Farm, by: 1 | -1): void {
    for (const a of farm.addresses) edit(this.#byIp, a["ip-addr"], name, by);
    const m = parseMark(typeof farm.mark === "string" ? farm.mark : undefined);
    if (m !== undefined && m !== 0) edit(this.#byMark, m, name, by);
  }
}

function edit<K>(index: Map<K, Set<string>>, key: K, name: string, by: 1 | -1): void {
  const names = index.get(key);
  if (by === 1) {
    if (names === undefined) index.set(key, new Set([name]));
    else names.add(name);
  } else if (names?.delete(name) && names.size === 0) index.delete(key);
}
