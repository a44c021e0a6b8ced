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
  markOwned,
  mentionsOf,
  ownsIn,
  unseenHolder,
  type ForeignHold,
} from "./ownership.ts";
import { adoptions, intoAdopted, reportUpstream, upstreamHolds, type Adoptions } from "./upstream-farms.ts";

export interface OwnershipDeps {
  nftlb: Pick<NftlbClient, "known" | "listFarms" | "listAddresses" | "getFarm">;
  adopt: boolean;
  log: { info(obj: object, msg: string): void; warn(obj: object, msg: string): void };
  event(key: string, reason: string, message: string, type: EventType): void;
  metrics?: SyncerMetrics | undefined;
}

export class PassOwnership {
  readonly #d: OwnershipDeps;
  readonly #foreign = new ForeignHolds();
  /** Upstream farms adopted → their Service, past the Service's deletion (for its GC). */
  readonly #adoptedBy = new Map<string, string>();
  #adopted: Adoptions = { into: new Map(), fresh: [], waiting: [] };
  #holds: ForeignHold[] = [];
  #fresh = new Set<string>();

  constructor(d: OwnershipDeps) {
    this.#d = d;
  }

  /**
   * The farms to write: every one marked, an adopted one under the upstream farm's name. A farm
   * made behind the syncer's back since nftlb was last read may hold an address about to be
   * claimed (by VIP:port, or by name: address objects are shared), so nftlb's address objects
   * are read first, and all its farms again only when those show a holder not seen yet.
   */
  async desired(farms: readonly Farm[]): Promise<{ farms: Farm[] } | { error: NftlbError }> {
    const { nftlb, adopt } = this.#d;
    this.#adopted = adoptions(farms, nftlb.known(), adopt);
    const held = (f: string, a: string) => this.#foreign.has(f, a);
    const claiming = intoAdopted(farms, this.#adopted);
    if (claimsNewAddress(claiming, nftlb.known(), held)) {
      // Only objects naming a claimed address or its IP matter: the rest of the answer is not parsed.
      const addresses = await nftlb.listAddresses(mentionsOf(claiming, nftlb.known()));
      if (!addresses.ok) return { error: addresses.error };
      if (unseenHolder(claiming, nftlb.known(), addresses.value)) {
        const listed = await nftlb.listFarms();
        if (!listed.ok) return { error: listed.error };
        this.#adopted = adoptions(farms, nftlb.known(), adopt);
      }
    }
    return { farms: intoAdopted(farms, this.#adopted).map(markOwned) };
  }

  /** The Service of a farm: by the desired farms' names, then by adoption, then `fallback`. */
  ownerOfFarm(owner: Map<string, string>, fallback: (farm: string) => string): (farm: string) => string {
    for (const [farm, upstream] of this.#adopted.into) {
      const key = owner.get(farm);
      if (key !== undefined) this.#adoptedBy.set(upstream, key);
    }
    return (name) => owner.get(name) ?? this.#adoptedBy.get(name) ?? fallback(name);
  }

  /** plan's `owns` and its view of nftlb: planned farms plus every foreign one (never written). */
  view(
    actual: readonly Farm[],
    planned: (f: Farm) => boolean,
  ): { owns: (farm: string) => boolean; have: Farm[] } {
    const owns = ownsIn(this.#d.nftlb.known());
    return { owns, have: actual.filter((f) => planned(f) || !owns(f.name)) };
  }

  /** After plan: who waits for an address a foreign farm holds (logged once). */
  planned(
    blocked: Plan["blocked"],
    farms: readonly Farm[],
    ownerOfFarm: (f: string) => string,
    scope: ReadonlySet<string> | undefined,
  ): void {
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
