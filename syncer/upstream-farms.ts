// Farms left by the original kube-nftlb (github.com/zevenet/kube-nftlb), which named a Service
// port's farm `<service>--<port>`, on the VIP:port this syncer now programs. They are foreign
// (ownership.ts): reported on the Service (Event `UpstreamFarmFound`, log, metric) and, only with
// --adopt-upstream-farms, taken over.
//
// Taken over IN PLACE: the Service's farm is written into the upstream farm, under the upstream
// farm's name, and marked (so it is kube-nftlb's from then on; it keeps its name while the
// Service lives). Measured on nftlb 1.0.7 with a looping client: every way of moving a VIP:port
// from one farm to another leaves it unbalanced for a moment, because nftlb writes each farm in
// an nft transaction of its own and nft refuses one VIP:port in two farms (writing ours first
// makes nftlb rebuild its whole table). DELETE then POST: ~20 ms without a farm; one POST standing
// the old farm down and giving its address to ours: ~1-3 ms; `newname`: the same. Both failed
// connections in every run. A merge POST into the farm that holds the VIP changes its backends
// and settings in one transaction, the VIP never leaves it: no failed connection.
import type { Address, Farm } from "../nftlb/types.ts";
import { isMarked, type ForeignHold } from "./ownership.ts";

/** `<service>--<port>`: a Service name (DNS label), then a port's name or number. */
export const UPSTREAM_FARM = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?--[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

const vip = (a: Address) => `${a.protocol} ${a["ip-addr"]}:${a.ports}`;

export interface Adoptions {
  /** Desired farm name → the upstream farm it is written into. */
  into: Map<string, string>;
  /** Upstream farms taken over in this pass (not marked yet). */
  fresh: { farm: string; upstream: string }[];
  /** Upstream farms adoption waits for, and why. */
  waiting: { farm: string; upstream: string; why: string }[];
}

/**
 * Which upstream farms stand in for which desired farms: with adoption on, or once adopted
 * (marked), an upstream farm each of whose addresses a desired farm of the same protocol and
 * family also has. A farm not marked yet is taken only when the desired farm has a backend up
 * (else its traffic would stop), and only while it holds no address the desired farm lacks.
 * `known`: nftlb's farms, or only those named like an upstream farm (scope-index.ts keeps them).
 */
export function adoptions(desired: readonly Farm[], known: Iterable<Farm>, adopt: boolean): Adoptions {
  const out: Adoptions = { into: new Map(), fresh: [], waiting: [] };
  const taken = new Set<string>();
  for (const u of known) {
    if (!UPSTREAM_FARM.test(u.name) || u.addresses.length === 0) continue;
    const marked = isMarked(u);
    if (!marked && !adopt) continue;
    const held = new Set(u.addresses.map(vip));
    const d = desired.find(
      (f) =>
        !taken.has(f.name) &&
        f.protocol === u.protocol &&
        f.family === u.family &&
        f.addresses.some((a) => held.has(vip(a))),
    );
    if (d === undefined) continue;
    const claimed = new Set(d.addresses.map(vip));
    const other = u.addresses.filter((a) => !claimed.has(vip(a)));
    if (other.length > 0) {
      if (!marked)
        out.waiting.push({
          farm: d.name,
          upstream: u.name,
          why: `it also holds ${other.map(vip).join(", ")}`,
        });
      continue;
    }
    if (!marked && !d.backends.some((b) => b.state === "up")) {
      out.waiting.push({ farm: d.name, upstream: u.name, why: `farm ${d.name} has no backend up yet` });
      continue;
    }
    taken.add(d.name);
    out.into.set(d.name, u.name);
    if (!marked) out.fresh.push({ farm: d.name, upstream: u.name });
  }
  return out;
}

/** The desired farms, those adopted renamed after the upstream farm they are written into. */
export const intoAdopted = (farms: readonly Farm[], a: Adoptions): Farm[] =>
  farms.map((f) => {
    const u = a.into.get(f.name);
    return u === undefined ? f : { ...f, name: u };
  });

/** The holds that are upstream farms, by upstream farm: what to report. */
export function upstreamHolds(holds: readonly ForeignHold[]): Map<string, ForeignHold[]> {
  const out = new Map<string, ForeignHold[]>();
  for (const h of holds) {
    if (UPSTREAM_FARM.test(h.heldBy)) out.set(h.heldBy, [...(out.get(h.heldBy) ?? []), h]);
  }
  return out;
}

export interface UpstreamReport {
  event(key: string, type: "Normal" | "Warning", reason: string, message: string): void;
  log: { info(obj: object, msg: string): void; warn(obj: object, msg: string): void };
}

/** Events and log lines of a pass: farms found (adoption off, or waiting), farms adopted. */
export function reportUpstream(
  holds: ReadonlyMap<string, ForeignHold[]>,
  a: Adoptions,
  o: { adopt: boolean; fresh: ReadonlySet<string>; ownerOf: (farm: string) => string },
  r: UpstreamReport,
): void {
  const named = (u: string) => `nftlb farm "${u}" (named like the original kube-nftlb's farms)`;
  const waits = new Map(a.waiting.map((w) => [w.upstream, w.why]));
  for (const [u, hs] of holds) {
    const h = hs[0]!;
    const what = `${named(u)} holds ${hs.map((x) => vip(x.address)).join(", ")}, which farm ${h.farm} needs`;
    const tail = o.adopt
      ? `adoption waits: ${waits.get(u) ?? "see the syncer's log"}`
      : "not programmed; --adopt-upstream-farms takes it over without a gap";
    r.event(h.key, "Warning", "UpstreamFarmFound", `${what}: ${tail}`);
    if (o.fresh.has(u)) r.log.warn({ service: h.key, upstream: u }, `${what}: ${tail}`);
  }
  for (const f of a.fresh) {
    const key = o.ownerOf(f.upstream);
    r.event(
      key,
      "Normal",
      "UpstreamFarmAdopted",
      `${named(f.upstream)} is now this Service's farm ${f.farm}, taken over in place`,
    );
    r.log.info({ service: key, upstream: f.upstream, farm: f.farm }, "upstream farm adopted in place");
  }
}
