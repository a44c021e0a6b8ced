// Which Services one batch plans. A batch plans its own Services' farms, not all of them: with
// 1,000 Services a global plan costs ~100 ms per change.
import type { Farm } from "../nftlb/types.ts";

// The identity of an address for "who holds it": protocol, IP and ports, not the address object's
// name (two farms with differently named objects on one VIP still collide in nftlb). The IP is
// compared as spelled, without plan's normalisation (plan-normalise.ts).
const addressKey = (a: Farm["addresses"][number]) => `${a.protocol}|${a["ip-addr"]}|${a.ports}`;

/**
 * The Services a batch must plan: its own keys, plus every Service whose farms in nftlb hold an
 * address the batch's farms claim (so that plan can move the address, and the client never sees
 * one address claimed twice). Farms of other Services are left out; a full reconcile plans all.
 */
export function scopeOf(
  keys: ReadonlySet<string>,
  desired: readonly Farm[],
  actual: readonly Farm[],
  ownerOfFarm: (farm: string) => string,
): Set<string> {
  const scope = new Set(keys);
  const claimed = new Set(
    desired.filter((f) => keys.has(ownerOfFarm(f.name))).flatMap((f) => f.addresses.map(addressKey)),
  );
  for (const f of actual) {
    if (f.addresses.some((a) => claimed.has(addressKey(a)))) scope.add(ownerOfFarm(f.name));
  }
  return scope;
}
