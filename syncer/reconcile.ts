// reconcile: a batch of Service keys → desired farms (desired.ts, from the caches) vs the farms
// nftlb has (read once, then kept up to date by the client from what was written) → plan → apply.
//
// Level-triggered: the keys only say what to recompute; the plan is always taken over every
// Service, so whatever drifted is converged and a second run writes nothing. One POST carries
// every upsert of the batch (cut in several when one would take too long). Farms of parked
// Services (nftlb refused them) and of Services over nftlb's capacity (capacity.ts) are left
// exactly as they are in nftlb.
import type { ConntrackCleaner } from "./conntrack-tool.ts";
import type { NftlbClient, NftlbError } from "../nftlb/index.ts";
import type { Farm } from "../nftlb/types.ts";
import type { FarmPatch } from "../nftlb/serialize.ts";
import type { EventType, ObjectRef } from "../kube/events.ts";
import type { ForeignHold } from "./ownership.ts";
import type { DesiredService } from "./desired.ts";
import { resolveConflicts } from "./desired-conflicts.ts";
import { claimsNewAddress, ForeignHolds, foreignHolds, isMarked, markOwned, ownsIn } from "./ownership.ts";
import { reportUpstream, upstreamClaims } from "./upstream-farms.ts";
import { operations, plan, type Plan } from "./plan.ts";
import {
  admit,
  chunkUpserts,
  footprint,
  measure,
  MAX_BACKENDS_PER_FARM,
  type Footprint,
} from "./capacity.ts";
import { farmMarksOf } from "./plan-marks.ts";
import type { ClusterView } from "./cluster.ts";
import type { KeyQueue } from "./queue.ts";
import type { SyncerMetrics } from "./metrics.ts";
import { nodeRulesFrom } from "./node-rules-desired.ts";
import type { NodeRulesKeeper } from "./node-rules-keeper.ts";
import type { SyncTrace } from "./trace.ts";

/** The queue key that asks for a full reconcile (every Service recomputed). No Service key lacks a "/". */
export const FULL = "*";

export interface ReconcileLog {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

export interface ReconcilerDeps {
  nftlb: NftlbClient;
  view: ClusterView;
  queue: KeyQueue;
  events: { record(ref: ObjectRef, type: EventType, reason: string, message: string): Promise<void> };
  log: ReconcileLog;
  metrics?: SyncerMetrics;
  /** Stage timestamps for latency attribution (syncer/trace.ts); off by default. */
  trace?: SyncTrace;
  /** Wall clock (ms), for the network programming latency. */
  now?: () => number;
  /** Take over farms of the original kube-nftlb holding our addresses (upstream-farms.ts). */
  adoptUpstreamFarms?: boolean;
  /** The nftlb container's memory limit (bytes); unset: nftlb's memory is estimated, not enforced. */
  nftlbMemoryBytes?: number | undefined;
  /** The longest one POST should take by estimate (capacity.ts); half nftlb's client timeout. */
  writeBudgetMs?: number;
  /** kube-nftlb's own table (node-rules*.ts), kept in step with every verified write. */
  nodeRules?: Pick<NodeRulesKeeper, "update" | "lastError">;
  /** UDP conntrack cleanup after each write nftlb verified (syncer/conntrack-tool.ts). */
  conntrack?: ConntrackCleaner;
}

/** `<ns>.<svc>.<port>[...]` → `ns/svc`: the Service a farm belongs to, by its name alone. */
export const ownerOf = (farm: string): string => {
  const [ns = "", svc = ""] = farm.split(".");
  return `${ns}/${svc}`;
};

type Failure = { error: NftlbError };

// Deleting backends that are already down costs nftlb ~22 ms each in a farm of 2,000 (one POST
// for many; a DELETE each costs ~70 ms): at most ~1 s of it per pass, 25 per request.
const REMOVAL_CHUNK = 25;
const REMOVAL_BUDGET_MS = 1_000;
const DEFAULT_WRITE_BUDGET_MS = 15_000;

export class Reconciler {
  readonly #d: ReconcilerDeps;
  readonly #memo = new Map<string, DesiredService>();
  readonly #refused = new Set<string>();
  #conflicted = new Set<string>();
  readonly #seenTrigger = new Map<string, number>();
  readonly #foreign = new ForeignHolds();
  readonly #started: number;
  #needList = true;
  #fatal: NftlbError | undefined;
  #programmedOnce = false;
  #sentinel = false;
  /** For tests and benchmarks: nftlb writes (POST/DELETE) sent. */
  readonly stats = { syncs: 0, writes: 0, failures: 0 };

  constructor(deps: ReconcilerDeps) {
    this.#d = deps;
    this.#started = (deps.now ?? Date.now)();
  }

  /** nftlb answered and the first full reconcile went through; false again on a fatal error. */
  get programmed(): boolean {
    return this.#programmedOnce && this.#fatal === undefined;
  }

  get sentinelPlanted(): boolean {
    return this.#sentinel;
  }

  /** nftlb lost its farms (restarted): read it again and program everything. */
  nftlbRestarted(): void {
    this.#needList = true;
    this.#sentinel = false;
    this.#d.queue.add(FULL);
  }

  /** Re-reads the foreign farms holding Services' addresses; a Service whose holder let go is queued. */
  async recheckForeign(): Promise<void> {
    for (const key of await this.#foreign.recheck(this.#d.nftlb)) this.#d.queue.add(key);
  }

  /** Reconcile one batch from the queue and tell the queue what became of each key. */
  async sync(batch: readonly string[]): Promise<void> {
    const started = performance.now();
    this.#d.trace?.({ stage: "dequeued", at: started, keys: batch });
    const full = batch.includes(FULL);
    this.stats.syncs++;
    const failure = await this.#sync(batch, full);
    const { queue, metrics } = this.#d;
    if (failure !== undefined) {
      this.stats.failures++;
      this.#needList = true;
      if (failure.error.kind === "fatal") {
        this.#fatal = failure.error;
        this.#d.log.error(
          { operation: failure.error.operation, status: failure.error.status },
          `nftlb refused the key: nothing can be programmed until --nftlb-key-file matches nftlb's key (${failure.error.message})`,
        );
      } else {
        this.#d.log.warn(
          { keys: batch.length, err: failure.error.message },
          "reconcile failed; retrying with backoff",
        );
      }
      for (const key of batch) queue.addRateLimited(key);
    } else {
      this.#fatal = undefined;
      for (const key of batch) queue.forget(key);
      if (full && !this.#programmedOnce) {
        this.#programmedOnce = true;
        this.#d.log.info({ farms: this.#d.nftlb.known().size }, "nftlb programmed");
      }
      if (full && !this.#sentinel) {
        const planted = await this.#d.nftlb.plantSentinel();
        this.#sentinel = planted.ok;
      }
      metrics?.lastSync.set(Date.now() / 1000);
    }
    metrics?.syncDuration.observe({ full: String(full) }, (performance.now() - started) / 1000);
    this.#report();
    this.#d.trace?.({ stage: "synced", at: performance.now(), keys: batch });
  }

  async #sync(batch: readonly string[], full: boolean): Promise<Failure | undefined> {
    const { nftlb, view } = this.#d;
    if (this.#needList) {
      const listed = await nftlb.listFarms();
      if (!listed.ok) return { error: listed.error };
      this.#needList = false;
    }
    const keys = new Set(batch.filter((k) => k !== FULL));
    if (full) {
      for (const k of view.serviceKeys()) keys.add(k);
      for (const k of this.#memo.keys()) keys.add(k);
    }
    for (const key of keys) this.#recompute(key);

    const unmarked = resolveConflicts([...this.#memo.values()]);
    // Every farm written carries kube-nftlb's mark (ownership.ts).
    const resolved = { ...unmarked, farms: unmarked.farms.map(markOwned) };
    const owner = new Map<string, string>();
    for (const [key, d] of this.#memo) for (const f of d.farms) owner.set(f.name, key);
    const ownerOfFarm = (name: string) => owner.get(name) ?? ownerOf(name);
    for (const c of resolved.conflicts) {
      this.#event(`${c.loser.service.namespace}/${c.loser.service.name}`, "AddressConflict", c.message);
    }

    // A farm made behind the syncer's back since nftlb was last read may hold an address about
    // to be claimed (by VIP:port, or by name: address objects are shared): read nftlb again.
    if (claimsNewAddress(resolved.farms, nftlb.known())) {
      const listed = await nftlb.listFarms();
      if (!listed.ok) return { error: listed.error };
    }
    const actual = [...nftlb.known().values()];
    // Planned again whatever the batch: Services refused for capacity last time (room may have
    // been made), and Services in an address conflict now or last time (the loser gets the
    // address once the winner lets it go, even if only the winner changed).
    const conflicted = resolved.conflicts.flatMap((c) =>
      [c.winner.service, c.loser.service].map((r) => `${r.namespace}/${r.name}`),
    );
    const recheck = [...this.#refused, ...this.#conflicted, ...conflicted];
    this.#conflicted = new Set(conflicted);
    const held = this.#held(resolved.farms, actual, ownerOfFarm);
    // A batch plans only its own Services' farms (and those of Services holding an address they
    // claim), not all of them: with 1,000 Services a global plan costs ~100 ms per change.
    const scope = full
      ? undefined
      : scopeOf(new Set([...keys, ...recheck]), resolved.farms, actual, ownerOfFarm);
    const planned = (f: Farm) => !held.has(ownerOfFarm(f.name)) && (scope?.has(ownerOfFarm(f.name)) ?? true);
    const desired = resolved.farms.filter(planned);
    const owns = ownsIn(nftlb.known());
    // Foreign farms are always in view: they hold addresses (by VIP:port or by address name)
    // whatever the batch, and are never written.
    const have = actual.filter((f) => planned(f) || !owns(f.name));
    const p = plan(desired, have, { owns, farmMarks: farmMarksOf(actual) });
    const holds = foreignHolds(p.blocked, resolved.farms, ownerOfFarm);
    const fresh = this.#foreign.set(scope, holds);
    for (const h of fresh)
      this.#d.log.warn(
        { service: h.key, address: h.address.name, heldBy: h.heldBy },
        "address held by a foreign farm",
      );
    for (const b of p.blocked) {
      this.#event(
        ownerOfFarm(b.farm),
        "AddressInUse",
        `address ${b.address} of farm ${b.farm} is held by nftlb farm "${b.heldBy}", which kube-nftlb does not manage: not programmed`,
      );
    }
    this.#d.trace?.({ stage: "planned", at: performance.now(), keys: batch });
    // kube-nftlb's table before the write (a LoadBalancer IP gets its firewall before nftlb
    // balances it; a farm losing its last backend is refused as soon as nftlb stops balancing
    // it) and after it (what nftlb now holds).
    const rules = () =>
      nodeRulesFrom(nftlb.known().values(), this.#memo.values(), { owns, planned: resolved.farms });
    await this.#d.nodeRules?.update(rules());
    const failure = await this.#apply(p, ownerOfFarm);
    if (failure === undefined) {
      this.#observeProgramming(keys);
      if (this.#d.nodeRules && !(await this.#d.nodeRules.update(rules(), { force: full }))) {
        this.#rulesFailed(this.#d.nodeRules.lastError ?? "");
      }
    }
    if (failure === undefined && operations(p).length > 0) await this.#cleanConntrack();
    return failure ?? (await this.#upstream(holds, new Set(fresh.map((h) => h.heldBy))));
  }

  /** Farms of the original kube-nftlb among the holders: reported, or adopted (upstream-farms.ts). */
  async #upstream(holds: ForeignHold[], fresh: Set<string>): Promise<Failure | undefined> {
    const claims = upstreamClaims(holds);
    this.#d.metrics?.upstreamFarms.set(new Set(claims.map((c) => c.upstream)).size);
    this.#d.metrics?.addressesInUse.set(this.#foreign.count);
    const error = await reportUpstream(claims, fresh, {
      nftlb: this.#d.nftlb,
      adopt: this.#d.adoptUpstreamFarms ?? false,
      event: (key, type, reason, message) => this.#event(key, reason, message, type),
      log: this.#d.log,
    });
    return error === undefined ? undefined : { error };
  }

  /** Never silently open: each Service whose source ranges the node could not install hears of it. */
  #rulesFailed(error: string): void {
    for (const [key, d] of this.#memo) {
      if ((d.nodeRules?.firewall.length ?? 0) === 0) continue;
      this.#event(
        key,
        "SourceRangesNotEnforced",
        `loadBalancerSourceRanges are not enforced on this node: table inet kube-nftlb could not be applied (${error}); retrying`,
      );
    }
  }

  /** After a verified write: stale UDP flows go (their next packet is balanced anew). */
  async #cleanConntrack(): Promise<void> {
    const r = await this.#d.conntrack?.clean(this.#d.nftlb.known().values());
    if (r === undefined) return;
    if (!r.ok) this.#d.log.warn({ err: r.error }, "UDP conntrack cleanup failed");
    else if (r.deleted > 0 || r.skipped > 0)
      this.#d.log.info({ deleted: r.deleted, unreadable: r.skipped }, "stale UDP conntrack entries deleted");
  }

  /** Recompute one key's desired farms and tell its Service about problems. */
  #recompute(key: string): void {
    const d = this.#d.view.desiredFor(key);
    if (d === undefined) {
      this.#memo.delete(key);
      for (const id of this.#seenTrigger.keys()) if (id.startsWith(`${key}/`)) this.#seenTrigger.delete(id);
      return;
    }
    this.#memo.set(key, d);
    for (const p of d.problems) {
      const reason = p.severity === "error" ? "InvalidServiceConfig" : "ServiceConfigWarning";
      this.#event(key, reason, p.key ? `${p.key}: ${p.message}` : p.message);
    }
  }

  /** Keys whose farms stay as they are: parked after nftlb refused them, or over capacity. */
  #held(desired: readonly Farm[], actual: readonly Farm[], ownerOfFarm: (n: string) => string): Set<string> {
    const held = new Set<string>();
    for (const f of [...desired, ...actual]) {
      const key = ownerOfFarm(f.name);
      if (this.#d.queue.isParked(key)) held.add(key);
    }
    const byKey = (farms: readonly Farm[]) => {
      const m = new Map<string, Farm[]>();
      for (const f of farms) {
        const key = ownerOfFarm(f.name);
        if (!held.has(key)) m.set(key, [...(m.get(key) ?? []), f]);
      }
      return m;
    };
    const wanted = byKey(desired);
    const has = byKey(actual);
    const none: Footprint = { addresses: 0, backends: 0, widest: 0 };
    const changes = new Map<string, { wanted: Footprint; has: Footprint }>();
    for (const key of new Set([...wanted.keys(), ...has.keys()])) {
      const w = wanted.get(key);
      const h = has.get(key);
      const c = { wanted: w ? footprint(w) : none, has: h ? footprint(h) : none };
      if (JSON.stringify(c.wanted) !== JSON.stringify(c.has)) changes.set(key, c);
    }
    const { refused } = admit(measure(actual), changes, { memoryBytes: this.#d.nftlbMemoryBytes });
    const now = new Set<string>();
    for (const r of refused) {
      now.add(r.key);
      held.add(r.key);
      if (!this.#refused.has(r.key)) {
        this.#d.metrics?.refusals.inc({ reason: r.reason });
        this.#d.log.warn({ key: r.key, reason: r.reason }, `nftlb capacity: change refused (${r.message})`);
      }
      this.#event(r.key, "NftlbCapacityExceeded", r.message);
    }
    this.#refused.clear();
    for (const k of now) this.#refused.add(k);
    return held;
  }

  /**
   * Sends the plan in order. A Service whose upsert nftlb refused keeps exactly what it had: its
   * removals (backends, addresses) are not sent. Backends going away were set down by the
   * upsert; deleting them from nftlb is housekeeping, bounded per pass (REMOVAL_BUDGET_MS) so
   * that one big shrink never holds other Services' changes back: the rest is left for a later
   * pass of the same key.
   */
  async #apply(p: Plan, ownerOfFarm: (n: string) => string): Promise<Failure | undefined> {
    const { nftlb } = this.#d;
    const refused = new Set<string>();
    let removing: number | undefined;
    for (const op of operations(p)) {
      if ("farms" in op) {
        const budget = this.#d.writeBudgetMs ?? DEFAULT_WRITE_BUDGET_MS;
        for (const farms of chunkUpserts(op.farms, nftlb.known().size, budget)) {
          this.stats.writes++;
          const r = await nftlb.upsertFarms(farms);
          if (r.ok) continue;
          if (r.error.kind !== "terminal") return { error: r.error };
          this.#needList = true;
          const failed = await this.#isolate(farms, ownerOfFarm, refused);
          if (failed !== undefined) return failed;
        }
        continue;
      }
      // A refused Service keeps exactly what it has: none of its removals.
      if (refused.has(ownerOfFarm(op.farm))) continue;
      if ("backends" in op) {
        removing ??= performance.now();
        const failed = await this.#removeBackends(op.farm, op.backends, removing, ownerOfFarm);
        if (failed !== undefined) return failed;
        continue;
      }
      this.stats.writes++;
      const r =
        "address" in op ? await nftlb.deleteAddress(op.farm, op.address) : await nftlb.deleteFarm(op.farm);
      if (r.ok) continue;
      // A removal nftlb refuses is most often one that already happened: read nftlb again and
      // let the next pass decide; never park a deletion.
      this.#d.log.warn({ farm: op.farm, err: r.error.message }, "nftlb removal failed");
      return { error: r.error };
    }
    return undefined;
  }

  /** Down backends deleted in chunks while the pass's removal budget lasts; the rest later. */
  async #removeBackends(
    farm: string,
    names: readonly string[],
    since: number,
    ownerOfFarm: (n: string) => string,
  ): Promise<Failure | undefined> {
    for (let i = 0; i < names.length; i += REMOVAL_CHUNK) {
      if (performance.now() - since > REMOVAL_BUDGET_MS) {
        this.#d.queue.add(ownerOfFarm(farm));
        return undefined;
      }
      this.stats.writes++;
      const r = await this.#d.nftlb.deleteBackends(farm, names.slice(i, i + REMOVAL_CHUNK));
      if (r.ok) continue;
      this.#d.log.warn({ farm, err: r.error.message }, "nftlb removal failed");
      return { error: r.error };
    }
    return undefined;
  }

  /** nftlb refused a batched POST: send each Service's farms alone, and park the ones it refuses. */
  async #isolate(
    farms: readonly FarmPatch[],
    ownerOfFarm: (n: string) => string,
    refused: Set<string>,
  ): Promise<Failure | undefined> {
    const byKey = new Map<string, FarmPatch[]>();
    for (const f of farms) {
      const k = ownerOfFarm(f.name);
      byKey.set(k, [...(byKey.get(k) ?? []), f]);
    }
    for (const [key, group] of byKey) {
      this.stats.writes++;
      const r = await this.#d.nftlb.upsertFarms(group);
      if (r.ok) continue;
      if (r.error.kind !== "terminal") return { error: r.error };
      refused.add(key);
      this.#d.queue.park(key);
      this.#d.log.warn(
        { key, err: r.error.message },
        "nftlb refused the Service's farms: parked until the Service changes",
      );
      this.#event(
        key,
        "NftlbRefusedFarm",
        `nftlb refused this Service's farms, left as they were: ${r.error.message}`,
      );
    }
    return undefined;
  }

  #event(key: string, reason: string, message: string, type: EventType = "Warning"): void {
    const ref = this.#d.view.serviceRef(key);
    if (ref !== undefined) void this.#d.events.record(ref, type, reason, message);
  }

  /** EndpointSlice trigger time → now, once per trigger, for changes made since the syncer started. */
  #observeProgramming(keys: Iterable<string>): void {
    const now = (this.#d.now ?? Date.now)();
    for (const key of keys) {
      for (const [slice, t] of this.#d.view.triggerTimes(key)) {
        const id = `${key}/${slice}`;
        if (this.#seenTrigger.get(id) === t) continue;
        this.#seenTrigger.set(id, t);
        if (t >= this.#started) this.#d.metrics?.programming.observe(Math.max(0, now - t) / 1000);
      }
    }
  }

  #report(): void {
    const m = this.#d.metrics;
    if (m === undefined) return;
    const all = [...this.#d.nftlb.known().values()];
    const c = measure(all);
    m.farms.set(all.filter(isMarked).length);
    m.backends.set(c.backends);
    m.addresses.set(c.addresses);
    m.addressBytes.set(c.memoryBytes);
    m.backendLimit.set(MAX_BACKENDS_PER_FARM);
    if (this.#d.nftlbMemoryBytes !== undefined) m.memoryLimit.set(this.#d.nftlbMemoryBytes);
    m.queueDepth.set(this.#d.queue.depth);
    m.queueRetrying.set(this.#d.queue.retrying);
    m.parked.set(this.#d.queue.parkedCount);
  }
}

/** The worker: one batch at a time until the queue shuts down. */
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

export async function runWorker(queue: KeyQueue, reconciler: Pick<Reconciler, "sync">): Promise<void> {
  for (;;) {
    const batch = await queue.get();
    if (batch === undefined) return;
    try {
      await reconciler.sync(batch);
    } finally {
      queue.done(batch);
    }
  }
}
