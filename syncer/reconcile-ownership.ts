// The reconciler's side of ownership (ownership.ts) and of the original kube-nftlb's farms
// (upstream-farms.ts), per pass: mark what is written, write adopted farms into the upstream
// farm they take over, keep foreign farms in view, and report who holds what.
import type { NftlbClient, NftlbError } from "../nftlb/index.ts";
import type { Farm } from "../nftlb/types.ts";
import type { EventType } from "../kube/events.ts";
import type { SyncerMetrics } from "./metrics.ts";
import type { Plan } from "./plan.ts";
import {
  claimsNewAddress,
  ForeignHolds,
  foreignHolds,
  mentionsOf,
  ownsIn,
  unseenHolder,
  type ForeignHold,
} from "./ownership.ts";
import { Multimap } from "./multimap.ts";
import { adoptions, intoAdopted, reportUpstream, upstreamHolds, type Adoptions } from "./upstream-farms.ts";

export interface OwnershipDeps {
  nftlb: Pick<NftlbClient, "known" | "listFarms" | "listAddresses" | "getFarm">;
  adopt: boolean;
  /** nftlb's farms named like the original kube-nftlb's (upstream-farms.ts), as last followed. */
  upstreamFarms: () => Iterable<Farm>;
  log: { info(obj: object, msg: string): void; warn(obj: object, msg: string): void };
  event(key: string, reason: string, message: string, type: EventType): void;
  metrics?: SyncerMetrics | undefined;
}

export class PassOwnership {
  readonly #d: OwnershipDeps;
  readonly #foreign = new ForeignHolds();
  /** Upstream farms adopted → their Service, past the Service's deletion (for its GC). */
  readonly #adoptedBy = new Map<string, string>();
  /** The same, by Service. */
  readonly #byService = new Multimap();
  /** This pass's adoptions (upstream farm → Service), kept from `planned` on. */
  #freshOwners = new Map<string, string>();
  #adopted: Adoptions = { into: new Map(), fresh: [], waiting: [] };
  #holds: ForeignHold[] = [];
  #fresh = new Set<string>();

  constructor(d: OwnershipDeps) {
    this.#d = d;
  }

  /**
   * The ownership check before a pass claims an address: a farm made behind the syncer's back
   * since nftlb was last read may hold an address about to be claimed (by VIP:port, or by name:
   * address objects are shared), so nftlb's address objects are read first, and all its farms
   * again only when those show a holder not seen yet (`relisted`: what was planned from the
   * farms known before must be planned again). Its request is sent at once: the caller plans
   * while nftlb answers, and writes nothing before this resolves. Undefined: no new address is
   * claimed, nothing was asked (so the caller has nothing to wait for). `claiming`: adopting()'s.
   */
  check(claiming: readonly Farm[]): Promise<{ relisted: boolean } | { error: NftlbError }> | undefined {
    const held = (f: string, a: string) => this.#foreign.has(f, a);
    return claimsNewAddress(claiming, this.#d.nftlb.known(), held) ? this.#ask(claiming) : undefined;
  }

  async #ask(claiming: readonly Farm[]): Promise<{ relisted: boolean } | { error: NftlbError }> {
    const { nftlb } = this.#d;
    // Only objects naming a claimed address or its IP matter: the rest of the answer is not parsed.
    const addresses = await nftlb.listAddresses(mentionsOf(claiming, nftlb.known()));
    if (!addresses.ok) return { error: addresses.error };
    if (!unseenHolder(claiming, nftlb.known(), addresses.value)) return { relisted: false };
    const listed = await nftlb.listFarms();
    return listed.ok ? { relisted: true } : { error: listed.error };
  }

  /**
   * The desired farms as this pass claims them, from nftlb's farms as known now: an adopted one
   * under the upstream farm's name. Asked once per view of nftlb (the check and the draft share
   * it; after a re-read, again).
   */
  adopting(farms: readonly Farm[]): Farm[] {
    this.#adopted = adoptions(farms, this.#d.upstreamFarms(), this.#d.adopt);
    return intoAdopted(farms, this.#adopted);
  }

  /**
   * The Service of a farm: by the desired farms' names, then by adoption, then `fallback`. This
   * pass's adoptions are kept from `planned` on (a pass may plan twice).
   */
  ownerOfFarm(owner: Map<string, string>, fallback: (farm: string) => string): (farm: string) => string {
    const fresh = new Map<string, string>();
    for (const [farm, upstream] of this.#adopted.into) {
      const key = owner.get(farm);
      if (key !== undefined) fresh.set(upstream, key);
    }
    this.#freshOwners = fresh;
    return (name) => owner.get(name) ?? fresh.get(name) ?? this.#adoptedBy.get(name) ?? fallback(name);
  }

  /** The upstream farms these Services adopted (this pass's included). */
  adoptedBy(keys: ReadonlySet<string>): string[] {
    const out = new Set<string>();
    for (const k of keys) for (const u of this.#byService.get(k)) out.add(u);
    for (const [u, k] of this.#freshOwners) if (keys.has(k)) out.add(u);
    return [...out];
  }

  /**
   * plan's `owns` and its view of nftlb: planned farms plus every foreign one (never written).
   * `foreign`: nftlb's farms that are not kube-nftlb's (scope-index.ts keeps them), so that a
   * batch does not walk every farm of the node to find them.
   */
  view(
    inScope: readonly Farm[],
    planned: (f: Farm) => boolean,
    foreign: Iterable<Farm>,
  ): { owns: (farm: string) => boolean; have: Farm[] } {
    const owns = ownsIn(this.#d.nftlb.known());
    const have = inScope.filter((f) => planned(f) || !owns(f.name));
    const seen = new Set(have.map((f) => f.name));
    for (const f of foreign) if (!seen.has(f.name)) have.push(f);
    return { owns, have };
  }

  /** After plan: this pass's adoptions kept; who waits for an address a foreign farm holds (logged once). */
  planned(
    blocked: Plan["blocked"],
    farms: readonly Farm[],
    ownerOfFarm: (f: string) => string,
    scope: ReadonlySet<string> | undefined,
  ): void {
    for (const [upstream, key] of this.#freshOwners) {
      const was = this.#adoptedBy.get(upstream);
      if (was !== undefined) this.#byService.delete(was, upstream);
      this.#adoptedBy.set(upstream, key);
      this.#byService.add(key, upstream);
    }
    this.#holds = foreignHolds(blocked, farms, ownerOfFarm);
    const fresh = this.#foreign.set(scope, this.#holds);
    this.#fresh = new Set(fresh.map((h) => h.heldBy));
    for (const h of fresh)
      this.#d.log.warn(
        { service: h.key, address: h.address.name, heldBy: h.heldBy },
        "address held by a foreign farm",
      );
  }

  /** After a verified write: the original project's farms found, and those adopted. */
  report(ownerOfFarm: (f: string) => string): void {
    const found = upstreamHolds(this.#holds);
    this.#d.metrics?.upstreamFarms.set(found.size);
    this.#d.metrics?.addressesInUse.set(this.#foreign.count);
    reportUpstream(
      found,
      this.#adopted,
      { adopt: this.#d.adopt, fresh: this.#fresh, ownerOf: ownerOfFarm },
      { event: (key, type, reason, message) => this.#d.event(key, reason, message, type), log: this.#d.log },
    );
  }

  /** The Services whose foreign holder let go (re-read on the probe timer). */
  recheck(): Promise<string[]> {
    return this.#foreign.recheck(this.#d.nftlb);
  }
}
