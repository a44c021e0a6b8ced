// Two farms claiming one protocol + VIP + port (e.g. two Services with the same externalIP and
// port) must never both reach nftlb: its parser accepts the second, nft refuses it ("File
// exists"), nftlb rebuilds its whole table — a short outage for every farm — and the second farm
// balances nothing anyway. So the claims are settled here, before anything is sent.
import type { Farm } from "../nftlb/types.ts";
import { compare } from "./endpoints.ts";
import type { DesiredService, ServiceRef } from "./desired.ts";

export interface Conflict {
  protocol: string;
  address: string;
  port: string;
  /** The farm that keeps the address, and its Service. */
  winner: { farm: string; service: ServiceRef };
  /** The farm that loses it (and is dropped if nothing else is left), and its Service. */
  loser: { farm: string; service: ServiceRef };
  message: string;
}

export interface Resolved {
  farms: Farm[];
  conflicts: Conflict[];
}

/**
 * Settles every claim over all Services' desired farms. The older Service wins (by
 * creationTimestamp; a Service without one counts as the newest), then the one first by
 * namespace/name, then the farm first by name. The loser loses only the contested address; a
 * farm left without addresses is dropped. The result does not depend on the input order; farms
 * keep the order of the (sorted) Services.
 */
export function resolveConflicts(services: readonly DesiredService[]): Resolved {
  const ordered = [...services].sort((a, b) => olderFirst(a.service, b.service));
  const entries = ordered.flatMap((s) =>
    [...s.farms].sort((a, b) => compare(a.name, b.name)).map((farm) => ({ farm, service: s.service })),
  );
  const holder = new Map<string, { farm: string; service: ServiceRef }>();
  const conflicts: Conflict[] = [];
  const farms: Farm[] = [];
  for (const { farm, service } of entries) {
    const kept = farm.addresses.filter((a) => {
      const key = `${a.protocol} ${a["ip-addr"]} ${a.ports}`;
      const winner = holder.get(key);
      if (winner === undefined) {
        holder.set(key, { farm: farm.name, service });
        return true;
      }
      if (winner.farm === farm.name) return false; // the same address twice in one farm
      conflicts.push({
        protocol: a.protocol,
        address: a["ip-addr"],
        port: a.ports,
        winner,
        loser: { farm: farm.name, service },
        message:
          `${a.protocol} ${a["ip-addr"]}:${a.ports} is claimed by Service ${id(winner.service)} (farm ${winner.farm}) ` +
          `and by Service ${id(service)} (farm ${farm.name}); the older Service ${id(winner.service)} keeps it`,
      });
      return false;
    });
    if (kept.length > 0)
      farms.push(kept.length === farm.addresses.length ? farm : { ...farm, addresses: kept });
  }
  return { farms, conflicts };
}

function olderFirst(a: ServiceRef, b: ServiceRef): number {
  const ta = a.creationTimestamp;
  const tb = b.creationTimestamp;
  if (ta !== tb) {
    if (ta === undefined) return 1;
    if (tb === undefined) return -1;
    return compare(ta, tb);
  }
  return compare(id(a), id(b));
}

const id = (s: ServiceRef): string => `${s.namespace}/${s.name}`;
