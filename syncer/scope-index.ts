// Which Services and farms a batch plans, from indexes kept up to date as Services are recomputed
// and as the client's picture of nftlb changes, so that a batch of one Service costs about one
// Service, not every Service of the node. (With 1,000 Services present, taking the conflicts,
// owners, scope, capacity and farm marks over all of them cost ~10 ms a batch, more than a third of
// nftlb's own answer to adding a farm; measured with bench/scale.ts --profile.)
//
// A batch plans its keys, and, transitively, every Service whose desired farms claim an address
// one of them claims (so that conflicts are settled exactly as over all Services: the winner of an
// address depends only on its claimants) and every Service whose farms in nftlb hold such an
// address (so that plan can move it). A full reconcile plans every Service and every farm.
import type { Farm } from "../nftlb/types.ts";
import type { Capacity } from "./capacity.ts";
import { estimateMemory } from "./capacity.ts";
import type { DesiredService } from "./desired.ts";
import { resolveConflicts, type Conflict } from "./desired-conflicts.ts";
import { farmMarkOf } from "../nftlb/marks.ts";
import { Multimap } from "./multimap.ts";
import { isMarked } from "./ownership.ts";
import { UPSTREAM_FARM } from "./upstream-farms.ts";
import type { ReadonlyKnownFarms } from "../nftlb/known-farms.ts";

// The identity of an address for "who holds it": protocol, IP and ports as spelled.
const addressKey = (a: Farm["addresses"][number]) => `${a.protocol}|${a["ip-addr"]}|${a.ports}`;

export interface Selection {
  /** The Services planned (their keys). */
  keys: ReadonlySet<string>;
  /** Their desired farms, conflicts settled. */
  farms: Farm[];
  conflicts: Conflict[];
}

/** Settled farms by Service (ScopeIndex.settle). */
export type Settled = ReadonlyMap<string, readonly Farm[]>;

export class ScopeIndex {
  readonly #ownerByName: (farm: string) => string;
  readonly #desired = new Map<string, DesiredService>();
  /** Desired farm → its Service. */
  readonly #owner = new Map<string, string>();
  /** Address → the Services whose desired farms claim it. */
  readonly #claims = new Multimap();
  /** The last settled farms of each Service (kube-nftlb's table wants all of them). */
  readonly #resolved = new Map<string, readonly Farm[]>();
  // nftlb's side, following the client's map by identity (it replaces a farm object on change).
  readonly #seen = new Map<string, Farm>();
  /** Address → nftlb farms holding it. */
  readonly #holders = new Multimap();
  /** Service by farm name alone → nftlb farms. */
  readonly #byName = new Multimap();
  readonly #farmMarks = new Map<number, number>();
  /** nftlb's farms without kube-nftlb's mark: plan must see them all (it never writes them). */
  readonly #foreign = new Set<string>();
  /** nftlb's farms named like the original kube-nftlb's: the only ones adoption looks at. */
  readonly #upstream = new Set<string>();
  #addresses = 0;
  /** The journal's version last followed (none: walk every farm). */
  #followed: number | undefined;
  #followedMap: ReadonlyKnownFarms | undefined;
  #backends = 0;
  #marked = 0;

  /** `ownerByName`: a farm's Service read from its name (farms no desired Service claims). */
  constructor(ownerByName: (farm: string) => string) {
    this.#ownerByName = ownerByName;
  }

  /** The Service a farm belongs to: the one whose desired farms name it, else by its name. */
  readonly ownerOfFarm = (farm: string): string => this.#owner.get(farm) ?? this.#ownerByName(farm);

  /** A Service recomputed (undefined: gone). */
  setDesired(key: string, d: DesiredService | undefined): void {
    const old = this.#desired.get(key);
    for (const f of old?.farms ?? []) {
      if (this.#owner.get(f.name) === key) this.#owner.delete(f.name);
      for (const a of f.addresses) this.#claims.delete(addressKey(a), key);
    }
    if (d === undefined) {
      this.#desired.delete(key);
      this.#resolved.delete(key);
      return;
    }
    this.#desired.set(key, d);
    for (const f of d.farms) {
      this.#owner.set(f.name, key);
      for (const a of f.addresses) this.#claims.add(addressKey(a), key);
    }
  }

  /**
   * Catch up with the client's farms: only the names its journal says changed are looked at, and
   * only farms whose object changed are re-indexed. Every farm is compared only when the journal
   * cannot say (a map not followed before, cleared since, or followed too long ago).
   */
  follow(known: ReadonlyKnownFarms): void {
    const same = known === this.#followedMap && this.#followed !== undefined;
    const changed = same ? known.changedSince(this.#followed!) : undefined;
    this.#followedMap = known;
    this.#followed = known.version;
    if (changed !== undefined) {
      for (const name of changed) {
        const was = this.#seen.get(name);
        const farm = known.get(name);
        if (was === farm) continue;
        if (was !== undefined) this.#unindex(was);
        if (farm !== undefined) this.#index(farm);
      }
      return;
    }
    for (const [name, farm] of known) {
      const was = this.#seen.get(name);
      if (was === farm) continue;
      if (was !== undefined) this.#unindex(was);
      this.#index(farm);
    }
    // #seen holds every name of `known` now: more names means some farms went away.
    if (this.#seen.size === known.size) return;
    for (const [name, was] of this.#seen) if (!known.has(name)) this.#unindex(was);
  }

  /** What nftlb holds, node-wide (capacity.ts's measure of every farm). */
  capacity(): Capacity {
    return {
      farms: this.#seen.size,
      addresses: this.#addresses,
      backends: this.#backends,
      memoryBytes: estimateMemory(this.#addresses, this.#backends),
    };
  }

  /** How many of nftlb's farms carry kube-nftlb's mark (ownership.ts). */
  get marked(): number {
    return this.#marked;
  }

  /** nftlb's farms that are not kube-nftlb's (ownership.ts), as last followed. */
  *foreign(): Iterable<Farm> {
    for (const n of this.#foreign) yield this.#seen.get(n)!;
  }

  /** nftlb's farms named like the original kube-nftlb's (upstream-farms.ts), as last followed. */
  *upstream(): Iterable<Farm> {
    for (const n of this.#upstream) yield this.#seen.get(n)!;
  }

  /** Farm marks nftlb's farms hold, node-wide. */
  farmMarks(): number[] {
    return [...this.#farmMarks.keys()];
  }

  /**
   * Every Service's settled farms, as last kept; with `draft`, a draft's in place of its
   * Services' (the table a draft computes, before the pass knows it will keep it).
   */
  *plannedFarms(draft?: Settled): Iterable<Farm> {
    for (const [key, farms] of this.#resolved) yield* draft?.get(key) ?? farms;
    if (draft) for (const [key, farms] of draft) if (!this.#resolved.has(key)) yield* farms;
  }

  /** The batch's Services and what they reach (see the head of this file); all when `keys` is undefined. */
  select(keys: Iterable<string> | undefined): Selection {
    const full = keys === undefined;
    const scope = new Set(full ? this.#desired.keys() : keys);
    if (!full) {
      const todo = [...scope];
      const reach = (k: string) => {
        if (scope.has(k)) return;
        scope.add(k);
        todo.push(k);
      };
      for (let key = todo.pop(); key !== undefined; key = todo.pop()) {
        for (const f of this.#desired.get(key)?.farms ?? []) {
          for (const a of f.addresses) {
            const k = addressKey(a);
            for (const other of this.#claims.get(k)) reach(other);
            for (const farm of this.#holders.get(k)) reach(this.ownerOfFarm(farm));
          }
        }
      }
    }
    const services = [...scope].flatMap((k) => this.#desired.get(k) ?? []);
    const { farms, conflicts } = resolveConflicts(services);
    // Their farms in nftlb are the draft's to ask for (actualOf; a full pass takes every farm).
    return { keys: scope, farms, conflicts };
  }

  /** The farms the selected Services will be written as (settled, marked), by Service; nothing kept yet. */
  settle(keys: Iterable<string>, farms: readonly Farm[], ownerOfFarm: (farm: string) => string): Settled {
    const out = new Map<string, Farm[]>();
    for (const k of keys) if (this.#desired.has(k)) out.set(k, []);
    for (const f of farms) out.get(ownerOfFarm(f.name))?.push(f);
    return out;
  }

  /**
   * A draft's settled farms kept, for plannedFarms(): only once its pass goes on to write (a pass
   * that failed before, at the ownership check, leaves the table's view as it was).
   */
  keepSettled(settled: Settled): void {
    for (const [key, farms] of settled) this.#resolved.set(key, farms);
  }

  /** Desired farm → its Service. */
  get owners(): Map<string, string> {
    return this.#owner;
  }

  /** nftlb's farms belonging to these Services (by their desired farms' names, else by name). */
  actualOf(scope: ReadonlySet<string>): Farm[] {
    const names = new Set<string>();
    for (const key of scope) {
      for (const n of this.#byName.get(key)) names.add(n);
      for (const f of this.#desired.get(key)?.farms ?? []) names.add(f.name);
    }
    const out: Farm[] = [];
    for (const n of names) {
      const f = this.#seen.get(n);
      if (f !== undefined && scope.has(this.ownerOfFarm(n))) out.push(f);
    }
    return out;
  }

  #index(f: Farm): void {
    this.#seen.set(f.name, f);
    this.#byName.add(this.#ownerByName(f.name), f.name);
    for (const a of f.addresses) this.#holders.add(addressKey(a), f.name);
    this.#addresses += f.addresses.length;
    this.#backends += f.backends.length;
    if (isMarked(f)) this.#marked++;
    else this.#foreign.add(f.name);
    if (UPSTREAM_FARM.test(f.name)) this.#upstream.add(f.name);
    const m = farmMarkOf(f);
    if (m !== undefined) this.#farmMarks.set(m, (this.#farmMarks.get(m) ?? 0) + 1);
  }

  #unindex(f: Farm): void {
    this.#seen.delete(f.name);
    this.#byName.delete(this.#ownerByName(f.name), f.name);
    for (const a of f.addresses) this.#holders.delete(addressKey(a), f.name);
    this.#addresses -= f.addresses.length;
    this.#backends -= f.backends.length;
    if (isMarked(f)) this.#marked--;
    else this.#foreign.delete(f.name);
    this.#upstream.delete(f.name);
    const m = farmMarkOf(f);
    if (m === undefined) return;
    const n = (this.#farmMarks.get(m) ?? 1) - 1;
    if (n > 0) this.#farmMarks.set(m, n);
    else this.#farmMarks.delete(m);
  }
}
