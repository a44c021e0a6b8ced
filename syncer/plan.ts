// plan: the desired farms and the farms nftlb has → the fewest nftlb requests that get there.
// Pure. nftlb's POST merges (fields and backends not sent are kept), so a changed farm is sent as
// its name plus what differs (backends: plan-backends.ts). Unchanged farms are not sent:
// nftlb's cost grows with the farms it already has (SPEC §4).
import type { Farm } from "../nftlb/types.ts";
import type { FarmPatch } from "../nftlb/serialize.ts";
import {
  ADDRESS_FIELDS,
  FARM_DEFAULTS,
  FARM_FIELDS,
  normaliseAddress,
  normaliseFarm,
  type NormalFarm,
} from "../nftlb/normalise.ts";
import { compare } from "./endpoints.ts";
import { farmMarksOf, FarmMarkPool, needsFarmMark, withMarks } from "./plan-marks.ts";
import { backendChanges } from "./plan-backends.ts";

export interface AddressRef {
  farm: string;
  address: string;
}
export interface BackendRef {
  farm: string;
  backend: string;
}

/**
 * The operations, to be applied IN THIS ORDER (see `operations()`):
 * 1. `releaseFarms`, `releaseAddresses`: free every VIP:port that another farm is about to
 *    claim. nft refuses one VIP:port in two farms, and nftlb then rebuilds its whole table.
 * 2. `upserts`: ONE `POST /farms` with every new or changed farm. A backend going away is set
 *    `down` in the same farm object as the backends that replace it, so nftlb rewrites the
 *    farm's rules once, from the old set straight to the new: no farm ever has zero backends
 *    while the desired farm has some (upstream removed all backends, then re-added them).
 * 3. `deleteBackends` (already down by then: nftlb's memory, not the data plane),
 *    4. `deleteAddresses`, 5. `deleteFarms`.
 * Removals of a farm run only after its upsert succeeded; the next reconcile plans again from nftlb.
 */
export interface Plan {
  /** Owned farms that are going away and hold an address another farm will claim. */
  releaseFarms: string[];
  /** Addresses another farm will claim, detached from their farm first. */
  releaseAddresses: AddressRef[];
  /** New farms in full; changed farms as name + differing fields + new/changed addresses and backends. */
  upserts: FarmPatch[];
  deleteBackends: BackendRef[];
  deleteAddresses: AddressRef[];
  /** Only farms `owns` accepts. */
  deleteFarms: string[];
  /** Desired addresses held by a farm kube-nftlb does not own: not sent, to be reported. */
  blocked: { farm: string; address: string; heldBy: string }[];
}

export interface PlanOptions {
  /** Whether kube-nftlb manages this farm (and may delete it). Desired farms are always managed. */
  owns: (farm: string) => boolean;
  /** Farm marks in use node-wide (every farm nftlb holds); from `actual` when not given. */
  farmMarks?: Iterable<number>;
}

export type Operation =
  | { method: "POST"; farms: FarmPatch[] }
  | { method: "DELETE"; farm: string }
  | { method: "DELETE"; farm: string; backends: string[] }
  | { method: "DELETE"; farm: string; address: string };

export function plan(desired: readonly Farm[], actual: readonly Farm[], options: PlanOptions): Plan {
  const want = new Map<string, Farm>();
  for (const f of desired) if (typeof f?.name === "string" && !want.has(f.name)) want.set(f.name, f);
  const have = new Map<string, NormalFarm>();
  for (const f of actual) {
    const n = normaliseFarm(f);
    if (n !== undefined && !have.has(n.name)) have.set(n.name, n);
  }

  for (const [name, d] of want) {
    const a = have.get(name);
    if (a !== undefined) want.set(name, keepAddressNames(d, a));
  }

  // A farm whose protocol or family changed is deleted and made anew: nftlb derives both from the
  // farm's first address, and a farm with addresses of two protocols is not one nft accepts.
  // Likewise a farm that needs a farm mark (see plan-marks.ts) and has none: nftlb takes one only
  // in a farm's first POST.
  const recreate = new Set(
    [...want.values()]
      .filter((d) => {
        const a = have.get(d.name);
        return (
          a !== undefined &&
          ((a.protocol ?? d.protocol) !== d.protocol ||
            (a.family ?? d.family) !== d.family ||
            (a.mark === 0 && needsFarmMark(d)))
        );
      })
      .map((d) => d.name),
  );
  const farmMarks = new FarmMarkPool(options.farmMarks ?? farmMarksOf(actual));

  // Who holds each VIP:port, and each address name (address objects are shared by name).
  const holders = new Map<string, AddressRef[]>();
  for (const f of have.values()) {
    for (const [name, a] of f.addresses) {
      for (const k of [vipKey(a), `name ${name}`])
        holders.set(k, [...(holders.get(k) ?? []), { farm: f.name, address: name }]);
    }
  }

  const p: Plan = emptyPlan();
  const releasedFarms = new Set<string>(recreate);
  const released = new Set<string>();
  const claimed = new Map<string, string>();
  for (const d of want.values()) {
    const blockedHere = new Set<string>();
    for (const a of d.addresses) {
      const key = vipKey(normaliseAddress(a));
      const first = claimed.get(key);
      if (first !== undefined && first !== d.name) {
        p.blocked.push({ farm: d.name, address: a.name, heldBy: first });
        blockedHere.add(a.name);
        continue;
      }
      claimed.set(key, d.name);
      const others = new Map<string, AddressRef>();
      for (const h of [...(holders.get(key) ?? []), ...(holders.get(`name ${a.name}`) ?? [])]) {
        if (h.farm !== d.name || h.address !== a.name) others.set(`${h.farm}\n${h.address}`, h);
      }
      for (const [id, h] of others) {
        if (releasedFarms.has(h.farm) || released.has(id)) continue;
        if (want.has(h.farm)) {
          released.add(id);
          p.releaseAddresses.push(h);
        } else if (options.owns(h.farm)) {
          releasedFarms.add(h.farm);
          p.releaseFarms.push(h.farm);
        } else {
          p.blocked.push({ farm: d.name, address: a.name, heldBy: h.farm });
          blockedHere.add(a.name);
        }
      }
    }
    const current = recreate.has(d.name) ? undefined : have.get(d.name);
    const farm =
      blockedHere.size === 0 ? d : { ...d, addresses: d.addresses.filter((a) => !blockedHere.has(a.name)) };
    if (current === undefined) {
      p.upserts.push(withMarks(farm, farmMarks));
      continue;
    }
    const { patch, remove } = diffFarm(farm, current, released);
    if (Object.keys(patch).length > 1) p.upserts.push(patch);
    for (const backend of remove) p.deleteBackends.push({ farm: d.name, backend });
    const addresses = new Set(farm.addresses.map((a) => a.name));
    for (const name of current.addresses.keys()) {
      if (!addresses.has(name) && !released.has(`${d.name}\n${name}`)) {
        p.deleteAddresses.push({ farm: d.name, address: name });
      }
    }
  }
  for (const name of recreate) p.releaseFarms.push(name);
  for (const name of have.keys()) {
    if (!want.has(name) && !releasedFarms.has(name) && options.owns(name)) p.deleteFarms.push(name);
  }
  p.releaseFarms.sort(compare);
  p.deleteFarms.sort(compare);
  return p;
}

/**
 * A desired address the farm already holds under another name keeps that name (a farm taken over
 * from the original kube-nftlb holds its VIP as `<farm>-addr`): nftlb cannot rename an address,
 * and detaching it to attach it anew would leave the VIP:port unbalanced in between.
 */
function keepAddressNames(d: Farm, a: NormalFarm): Farm {
  const wanted = new Set(d.addresses.map((x) => x.name));
  let changed = false;
  const addresses = d.addresses.map((x) => {
    if (a.addresses.has(x.name)) return x;
    const want = normaliseAddress(x);
    for (const [name, have] of a.addresses) {
      if (wanted.has(name) || !ADDRESS_FIELDS.every((k) => have[k] === want[k])) continue;
      wanted.add(name);
      changed = true;
      return { ...x, name };
    }
    return x;
  });
  return changed ? { ...d, addresses } : d;
}

/** Name + the farm fields that differ + addresses and backends that are new or changed. */
function diffFarm(
  d: Farm,
  a: NormalFarm,
  released: ReadonlySet<string>,
): { patch: FarmPatch; remove: string[] } {
  const patch: FarmPatch = { name: d.name };
  const wanted = normaliseFarm(d)!;
  const out = patch as Record<string, unknown>;
  for (const k of FARM_FIELDS) {
    if (wanted.fields[k] !== a.fields[k])
      out[k] = d[k] ?? (k === "log-prefix" ? FARM_DEFAULTS["log-prefix"] : wanted.fields[k]);
  }
  // Setting the scheduler resets sched-param in nftlb: send both together.
  if (out.scheduler !== undefined) out["sched-param"] = d["sched-param"];
  // iface/oface and the addresses' iface/ether-addr never show in GET: send them with a mode
  // change, when they matter anew (dsr needs them on every address).
  const modeChanged = out.mode !== undefined;
  if (modeChanged) {
    if (d.iface !== undefined) out.iface = d.iface;
    if (d.oface !== undefined) out.oface = d.oface;
  }
  const addresses = d.addresses.filter((x) => {
    const have = a.addresses.get(x.name);
    const want = normaliseAddress(x);
    return (
      modeChanged ||
      have === undefined ||
      released.has(`${d.name}\n${x.name}`) ||
      ADDRESS_FIELDS.some((k) => have[k] !== want[k])
    );
  });
  if (addresses.length > 0) patch.addresses = addresses;
  const { patches: backends, remove } = backendChanges(d.backends, a);
  if (backends.length > 0) patch.backends = backends;
  return { patch, remove };
}

/** The operations in the order they must be applied (see `Plan`). */
export function operations(p: Plan): Operation[] {
  return [
    ...p.releaseFarms.map((farm): Operation => ({ method: "DELETE", farm })),
    ...p.releaseAddresses.map(({ farm, address }): Operation => ({ method: "DELETE", farm, address })),
    ...(p.upserts.length > 0 ? [{ method: "POST", farms: p.upserts } as Operation] : []),
    ...[...byFarm(p.deleteBackends)].map(([farm, backends]): Operation => ({
      method: "DELETE",
      farm,
      backends,
    })),
    ...p.deleteAddresses.map(({ farm, address }): Operation => ({ method: "DELETE", farm, address })),
    ...p.deleteFarms.map((farm): Operation => ({ method: "DELETE", farm })),
  ];
}

const byFarm = (refs: readonly BackendRef[]): Map<string, string[]> => {
  const m = new Map<string, string[]>();
  for (const r of refs) m.set(r.farm, [...(m.get(r.farm) ?? []), r.backend]);
  return m;
};

/** nftlb requests the plan needs: one POST for all upserts, one per farm losing backends, one DELETE per other removal. */
export const requestCount = (p: Plan): number => operations(p).length;

/** True when nftlb already matches: nothing to send (blocked addresses are a report, not work). */
export const isEmpty = (p: Plan): boolean => requestCount(p) === 0;

export const emptyPlan = (): Plan => ({
  releaseFarms: [],
  releaseAddresses: [],
  upserts: [],
  deleteBackends: [],
  deleteAddresses: [],
  deleteFarms: [],
  blocked: [],
});

const vipKey = (a: { protocol: string; "ip-addr": string; ports: string }): string =>
  `${a.protocol} ${a["ip-addr"]} ${a.ports}`;
