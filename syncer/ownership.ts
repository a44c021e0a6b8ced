// Which nftlb farms are kube-nftlb's: those carrying its mark, never a name's shape.
//
// nftlb is shared: people make farms by hand (`www.example.com`, `lb.prod.v6`), and no naming
// scheme of ours can keep a hand-made name from looking like one of ours. So every farm the syncer
// writes carries an explicit mark that nftlb 1.0.7 stores and lists back verbatim:
// `tcp-strict-log-prefix`. nftlb writes that prefix into a rule only while the farm's
// `tcp-strict` is on, which kube-nftlb never sets, so the mark never reaches the kernel
// (measured: writing it leaves `nft list ruleset` byte for byte unchanged).
//
// - Garbage collection deletes only marked farms.
// - A farm with the very name of a desired farm is written (and so marked) whatever it carries:
//   that is how farms written by an older kube-nftlb, before the mark, are taken over in place —
//   one merge POST into the same farm, no moment without rules.
// - Every other farm is foreign. A foreign farm holding an address a Service needs (by VIP:port or
//   by the address object's name: address objects are global in nftlb and shared by name) is an
//   `AddressInUse` Event on the Service, never a write; `ForeignHolds` re-reads just those farms
//   on the probe timer, so the Service takes the address within a probe period once they let go.
import type { Address, Farm, ListedAddress } from "../nftlb/types.ts";
import type { NftlbClient } from "../nftlb/index.ts";
import { SENTINEL_FARM } from "../nftlb/index.ts";

export const OWNER_FIELD = "tcp-strict-log-prefix";
/** The mark: a valid log prefix too (tokens expanded by nftlb), should tcp-strict ever be on. */
export const OWNER_MARK = "kube-nftlb KNAME-FNAME ";

export const markOwned = (farm: Farm): Farm => ({ ...farm, [OWNER_FIELD]: OWNER_MARK });

const TRIMMED_MARK = OWNER_MARK.trim();

/** nftlb lists strings as stored; the parser trims them. (Asked of every farm on every pass: no copy.) */
export const isMarked = (farm: Pick<Farm, typeof OWNER_FIELD>): boolean => {
  const v = farm[OWNER_FIELD];
  return v === OWNER_MARK || v === TRIMMED_MARK || v?.trim() === TRIMMED_MARK;
};

/** plan's `owns`: whether nftlb's farm of that name carries the mark (the sentinel is the client's). */
export const ownsIn =
  (known: ReadonlyMap<string, Farm>) =>
  (name: string): boolean => {
    const f = known.get(name);
    return f !== undefined && name !== SENTINEL_FARM && isMarked(f);
  };

/**
 * Whether a desired farm has an address nftlb's farm of that name lacks (as last read), other
 * than those already known to be held (`held`: re-checked on the probe timer instead).
 */
export const claimsNewAddress = (
  desired: readonly Farm[],
  known: ReadonlyMap<string, Farm>,
  held: (farm: string, address: string) => boolean = () => false,
): boolean =>
  desired.some((d) => {
    const have = known.get(d.name);
    return d.addresses.some((a) => !have?.addresses.some((x) => x.name === a.name) && !held(d.name, a.name));
  });

const vip = (a: Address) => `${a.protocol}|${a["ip-addr"]}|${a.ports}`;

/** The desired farms' addresses that nftlb's farm of the same name lacks (as last read). */
const claimed = (desired: readonly Farm[], known: ReadonlyMap<string, Farm>): Address[] =>
  desired.flatMap((d) => {
    const have = known.get(d.name);
    return d.addresses.filter((a) => !have?.addresses.some((x) => x.name === a.name));
  });

/** What an address object must mention to hold a claimed address: its name or its IP. */
export const mentionsOf = (desired: readonly Farm[], known: ReadonlyMap<string, Farm>): string[] => [
  ...new Set(claimed(desired, known).flatMap((a) => [a.name, a["ip-addr"]])),
];

/**
 * Whether nftlb's address objects (GET /addresses) show a holder the client has not seen for an
 * address a desired farm is about to claim: an object of that name or on that protocol/VIP/port
 * that no known farm accounts for, or used by more farms than the known ones (a farm made or
 * attached behind the syncer's back since nftlb was last read). Only then is the whole farm list
 * worth reading again: at 1,000 farms GET /addresses is ~450 KB against GET /farms' ~7 MB, and
 * that read made adding one Service cost ten times its POST. The known farms are walked only
 * when an object names or sits on a claimed address.
 */
export function unseenHolder(
  desired: readonly Farm[],
  known: ReadonlyMap<string, Farm>,
  listed: readonly ListedAddress[],
): boolean {
  const addresses = claimed(desired, known);
  const names = new Set(addresses.map((a) => a.name));
  const vips = new Set(addresses.map(vip));
  const candidates = listed.filter((l) => names.has(l.name) || vips.has(vip(l)));
  if (candidates.length === 0) return false;
  const seen = new Map<string, { address: Address; users: number }>();
  for (const f of known.values())
    for (const a of f.addresses) seen.set(a.name, { address: a, users: (seen.get(a.name)?.users ?? 0) + 1 });
  return candidates.some((l) => {
    const s = seen.get(l.name);
    return s === undefined || s.users < l.used || vip(s.address) !== vip(l);
  });
}

/** A desired address held by a farm kube-nftlb does not own. */
export interface ForeignHold {
  /** The Service (`namespace/name`) waiting for the address. */
  key: string;
  farm: string;
  address: Address;
  heldBy: string;
}

/**
 * The plan's blocked addresses that a foreign farm holds (not another desired farm), with the
 * address itself, for the Event and the recheck.
 */
export function foreignHolds(
  blocked: readonly { farm: string; address: string; heldBy: string }[],
  desired: readonly Farm[],
  ownerOfFarm: (farm: string) => string,
): ForeignHold[] {
  const byName = new Map(desired.map((f) => [f.name, f]));
  const out: ForeignHold[] = [];
  for (const b of blocked) {
    if (byName.has(b.heldBy)) continue;
    const address = byName.get(b.farm)?.addresses.find((a) => a.name === b.address);
    if (address !== undefined)
      out.push({ key: ownerOfFarm(b.farm), farm: b.farm, address, heldBy: b.heldBy });
  }
  return out;
}

const sameAddress = (a: Address, b: Address): boolean =>
  a.name === b.name || (a.protocol === b.protocol && a["ip-addr"] === b["ip-addr"] && a.ports === b.ports);

/** At most this many foreign farms are re-read per probe (each GET costs nftlb ~2 ms). */
const MAX_RECHECKS = 20;

/**
 * The Services waiting for addresses foreign farms hold. `set` after each plan says who waits;
 * `recheck` (on the probe timer) re-reads only the holding farms and hands back the Services
 * whose holder let go, for the queue. New holds are counted once, for the log.
 */
export class ForeignHolds {
  #holds: ForeignHold[] = [];
  #seen = new Set<string>();

  get count(): number {
    return this.#holds.length;
  }

  /** Whether this farm's address is known to be held by a foreign farm. */
  has(farm: string, address: string): boolean {
    return this.#holds.some((h) => h.farm === farm && h.address.name === address);
  }

  /** Replaces the holds for the Services planned; returns the ones not seen before. */
  set(planned: ReadonlySet<string> | undefined, holds: readonly ForeignHold[]): ForeignHold[] {
    const kept = planned === undefined ? [] : this.#holds.filter((h) => !planned.has(h.key));
    this.#holds = [...kept, ...holds];
    const id = (h: ForeignHold) => `${h.key}\n${h.address.name}\n${h.heldBy}`;
    const fresh = holds.filter((h) => !this.#seen.has(id(h)));
    this.#seen = new Set(this.#holds.map(id));
    return fresh;
  }

  /** The Services whose holder is gone or no longer holds their address (nftlb re-read). */
  async recheck(nftlb: Pick<NftlbClient, "getFarm">): Promise<string[]> {
    const holders = [...new Set(this.#holds.map((h) => h.heldBy))].slice(0, MAX_RECHECKS);
    const freed = new Set<string>();
    for (const name of holders) {
      const r = await nftlb.getFarm(name);
      if (!r.ok) continue;
      for (const h of this.#holds) {
        if (h.heldBy !== name) continue;
        if (r.value === undefined || !r.value.addresses.some((a) => sameAddress(a, h.address)))
          freed.add(h.key);
      }
    }
    this.#holds = this.#holds.filter((h) => !freed.has(h.key));
    return [...freed];
  }
}

/** `<ns>.<svc>.<port>[...]` → `ns/svc`: the Service a farm belongs to, by its name alone. */
export const ownerOf = (farm: string): string => {
  const [ns = "", svc = ""] = farm.split(".");
  return `${ns}/${svc}`;
};
