// Farms left by the original kube-nftlb (github.com/zevenet/kube-nftlb), which named a Service
// port's farm `<service>--<port>`, on the VIP:port this syncer now programs. They are foreign
// (ownership.ts): reported on the Service (Event `UpstreamFarmFound`, log, metric) and, only with
// --adopt-upstream-farms, taken over.
//
// The hand-over, measured on nftlb 1.0.7 with a looping client (docs/operators.md): nft refuses one
// VIP:port in two farms and nftlb then rebuilds its whole table, and nftlb writes each farm in an
// nft transaction of its own, so no order moves a VIP:port from one farm to another in one
// transaction. The cheapest safe order:
// 1. our farm is written without the held address (plan does that while the address is held), and
//    waits until it has a backend that is up;
// 2. ONE POST: the upstream farm `state: down` (its rules go), then our farm's held addresses —
//    nftlb writes the two farms back to back, ~1-3 ms apart (a DELETE then a POST: ~20 ms);
// 3. `DELETE` of the upstream farm, which has no rules left by then.
import type { Address, Farm } from "../nftlb/types.ts";
import type { NftlbClient, NftlbError } from "../nftlb/index.ts";
import type { ForeignHold } from "./ownership.ts";

/** `<service>--<port>`: a Service name (DNS label), then a port's name or number. */
export const UPSTREAM_FARM = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?--[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

export interface UpstreamClaim {
  /** The Service (`namespace/name`). */
  key: string;
  /** Our farm, waiting for the addresses. */
  farm: string;
  upstream: string;
  addresses: Address[];
}

/** The holds that are upstream farms, one claim per (Service farm, upstream farm). */
export function upstreamClaims(holds: readonly ForeignHold[]): UpstreamClaim[] {
  const out = new Map<string, UpstreamClaim>();
  for (const h of holds) {
    if (!UPSTREAM_FARM.test(h.heldBy)) continue;
    const id = `${h.farm}\n${h.heldBy}`;
    const c = out.get(id) ?? { key: h.key, farm: h.farm, upstream: h.heldBy, addresses: [] };
    if (!c.addresses.some((a) => a.name === h.address.name)) c.addresses.push(h.address);
    out.set(id, c);
  }
  return [...out.values()];
}

const vip = (a: Address) => `${a.protocol} ${a["ip-addr"]}:${a.ports}`;

export const describeClaim = (c: UpstreamClaim): string =>
  `nftlb farm "${c.upstream}" (named like the original kube-nftlb's farms) holds ${c.addresses.map(vip).join(", ")}, which farm ${c.farm} needs`;

export type HandOver = { done: true } | { done: false; wait: string } | { done: false; error: NftlbError };

/**
 * Takes the upstream farm's addresses over (the order above). Waits, writing nothing, while our
 * farm has no backend up or the upstream farm holds an address no Service farm claims.
 */
export async function handOver(
  nftlb: Pick<NftlbClient, "known" | "upsertFarms" | "deleteFarm">,
  c: UpstreamClaim,
): Promise<HandOver> {
  const ours = nftlb.known().get(c.farm);
  const upstream = nftlb.known().get(c.upstream);
  if (upstream === undefined) return { done: true };
  if (!ours?.backends.some((b) => b.state === "up" || (b.state as string) === "available"))
    return { done: false, wait: `farm ${c.farm} has no backend up yet` };
  const claimed = new Set(c.addresses.map(vip));
  const other = upstream.addresses.filter((a: Address) => !claimed.has(vip(a)));
  if (other.length > 0)
    return { done: false, wait: `it also holds ${other.map(vip).join(", ")}, which no Service claims` };
  const down: Pick<Farm, "name" | "state"> = { name: c.upstream, state: "down" };
  const moved = await nftlb.upsertFarms([down, { name: c.farm, addresses: c.addresses }]);
  if (!moved.ok) return { done: false, error: moved.error };
  const gone = await nftlb.deleteFarm(c.upstream);
  return gone.ok ? { done: true } : { done: false, error: gone.error };
}

export interface UpstreamDeps {
  nftlb: Pick<NftlbClient, "known" | "upsertFarms" | "deleteFarm">;
  adopt: boolean;
  event(key: string, type: "Normal" | "Warning", reason: string, message: string): void;
  log: { info(obj: object, msg: string): void; warn(obj: object, msg: string): void };
}

/**
 * Reports each claim (Event every pass, the recorder deduplicates; log when new) and, with
 * adoption on, hands it over. Returns the error of a failed hand-over: nftlb must be re-read.
 */
export async function reportUpstream(
  claims: readonly UpstreamClaim[],
  fresh: ReadonlySet<string>,
  d: UpstreamDeps,
): Promise<NftlbError | undefined> {
  for (const c of claims) {
    const what = describeClaim(c);
    if (!d.adopt) {
      d.event(
        c.key,
        "Warning",
        "UpstreamFarmFound",
        `${what}: not programmed; --adopt-upstream-farms takes it over`,
      );
      if (fresh.has(c.upstream))
        d.log.warn({ service: c.key, upstream: c.upstream }, `${what}; adoption is off`);
      continue;
    }
    const r = await handOver(d.nftlb, c);
    if (r.done) {
      d.event(c.key, "Normal", "UpstreamFarmAdopted", `${what}: taken over, farm "${c.upstream}" deleted`);
      d.log.info({ service: c.key, upstream: c.upstream, farm: c.farm }, "upstream farm adopted");
    } else if ("wait" in r) {
      d.event(c.key, "Warning", "UpstreamFarmFound", `${what}: adoption waits, ${r.wait}`);
    } else {
      d.log.warn(
        { service: c.key, upstream: c.upstream, err: r.error.message },
        "adopting the upstream farm failed",
      );
      return r.error;
    }
  }
  return undefined;
}
