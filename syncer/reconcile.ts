// reconcile: a batch of Service keys → desired farms (desired.ts, from the caches) vs the farms
// nftlb has (read on every full reconcile, kept up to date by the client from what was written in
// between) → plan → apply.
// It reports what became of each key (outcome.ts); the worker (worker.ts) applies queue policy.
//
// Level-triggered: the keys only say what to recompute. A full reconcile (FULL, at start and on
// each resync) plans every Service; a batch of keys plans only those Services and the ones
// holding an address they claim (scope-index.ts). Either way a second run writes nothing.
// One POST carries every upsert of the batch (cut in several when one would take too long).
// Farms of parked Services (nftlb refused them) and of Services over nftlb's capacity are left
// exactly as they are in nftlb (reconcile-held.ts).
import type { ConntrackCleaner } from "./conntrack-tool.ts";
import type { NftlbClient, NftlbError } from "../nftlb/index.ts";
import type { Farm } from "../nftlb/types.ts";
import { operations, plan, type Plan } from "./plan.ts";
import type { ClusterView } from "./cluster.ts";
import type { SyncerMetrics } from "./metrics.ts";
import { nodeRulesFrom, rememberedShares, type FarmShare } from "./node-rules-desired.ts";
import type { NodeRulesKeeper } from "./node-rules-keeper.ts";
import type { SyncTrace } from "./trace.ts";
import { OutcomeSet, type Outcomes } from "./outcome.ts";
import { ownerOf } from "./ownership.ts";
import { PassOwnership } from "./reconcile-ownership.ts";
import { ScopeIndex } from "./scope-index.ts";
import { HeldKeys } from "./reconcile-held.ts";
import { ServiceEvents, type EventSink } from "./reconcile-events.ts";
import { applyPlan } from "./reconcile-apply.ts";
import { ProgrammingLatency, reportNftlb } from "./reconcile-report.ts";
import { DesiredMemo } from "./reconcile-memo.ts";

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
  /** Read-only: whether the queue holds a key parked (its farms are then left as they are). */
  isParked?: (key: string) => boolean;
  events: EventSink;
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
  /** One farm's part of that table (node-rules-desired.ts's farmShare; tests count the calls). */
  farmShare?: (farm: Farm) => FarmShare;
  /** UDP conntrack cleanup after each write nftlb verified (syncer/conntrack-tool.ts). */
  conntrack?: ConntrackCleaner;
}

interface Pass {
  failure?: NftlbError;
  outcomes: OutcomeSet;
}

export class Reconciler {
  readonly #d: ReconcilerDeps;
  readonly #memo: DesiredMemo;
  readonly #ownership: PassOwnership;
  readonly #scope = new ScopeIndex(ownerOf);
  readonly #events: ServiceEvents;
  readonly #held: HeldKeys;
  readonly #latency: ProgrammingLatency;
  #conflicted = new Set<string>();
  readonly #shares: (farm: Farm) => FarmShare;
  #needList = true;
  #fatal: NftlbError | undefined;
  #programmedOnce = false;
  #sentinel = false;
  /** A request timed out: nftlb is most likely still working on it (see #sync). */
  #busy = false;
  /** For tests and benchmarks: nftlb writes (POST/DELETE) sent. */
  readonly stats = { syncs: 0, writes: 0, failures: 0 };

  constructor(deps: ReconcilerDeps) {
    this.#d = deps;
    this.#shares = rememberedShares(deps.farmShare);
    this.#events = new ServiceEvents((key) => deps.view.serviceRef(key), deps.events);
    this.#ownership = new PassOwnership({
      nftlb: deps.nftlb,
      adopt: deps.adoptUpstreamFarms ?? false,
      log: deps.log,
      event: (key, reason, message, type) => this.#events.warn(key, reason, message, type),
      metrics: deps.metrics,
    });
    this.#held = new HeldKeys({
      isParked: (key) => this.#memo.broken.has(key) || (deps.isParked?.(key) ?? false),
      memoryBytes: deps.nftlbMemoryBytes,
      refused: (r, first) => {
        if (first) {
          deps.metrics?.refusals.inc({ reason: r.reason });
          deps.log.warn({ key: r.key, reason: r.reason }, `nftlb capacity: change refused (${r.message})`);
        }
        this.#events.capacity(r);
      },
    });
    const latency = new ProgrammingLatency(deps.now ?? Date.now);
    this.#latency = latency;
    this.#memo = new DesiredMemo({
      view: deps.view,
      events: this.#events,
      log: deps.log,
      metrics: deps.metrics,
      gone: (key) => latency.forget(key),
    });
  }

  /** nftlb answered and the first full reconcile went through; false again on a fatal error. */
  get programmed(): boolean {
    return this.#programmedOnce && this.#fatal === undefined;
  }

  get sentinelPlanted(): boolean {
    return this.#sentinel;
  }

  /** nftlb lost its farms (restarted): the next pass reads it again; the caller queues FULL. */
  nftlbRestarted(): void {
    this.#needList = true;
    this.#sentinel = false;
  }

  /** Re-reads the foreign farms holding Services' addresses: the Services whose holder let go. */
  recheckForeign(): Promise<string[]> {
    return this.#ownership.recheck();
  }

  /** Reconcile one batch and say what became of each key (the worker applies it to the queue). */
  async sync(batch: readonly string[]): Promise<Outcomes> {
    const started = performance.now();
    this.#d.trace?.({ stage: "dequeued", at: started, keys: batch });
    const full = batch.includes(FULL);
    this.stats.syncs++;
    let pass: Pass;
    try {
      pass = await this.#sync(batch, full);
    } catch (err) {
      // Whatever was half done, the client's picture of nftlb is not to be trusted.
      this.#needList = true;
      throw err;
    }
    const { metrics } = this.#d;
    const { failure, outcomes } = pass;
    if (failure !== undefined) {
      this.stats.failures++;
      this.#needList = true;
      if (failure.timedOut) this.#busy = true;
      if (failure.kind === "fatal") {
        this.#fatal = failure;
        this.#d.log.error(
          { operation: failure.operation, status: failure.status },
          `nftlb refused the key: nothing can be programmed until --nftlb-key-file matches nftlb's key (${failure.message})`,
        );
      } else {
        this.#d.log.warn(
          { keys: batch.length, err: failure.message },
          "reconcile failed; retrying with backoff",
        );
      }
      outcomes.all(batch, { kind: "retry", reason: failure.message });
    } else {
      this.#fatal = undefined;
      outcomes.all(batch, { kind: "done" });
      if (full && !this.#programmedOnce) {
        this.#programmedOnce = true;
        this.#d.log.info({ farms: this.#d.nftlb.known().size }, "nftlb programmed");
      }
      metrics?.lastSync.set(Date.now() / 1000);
    }
    metrics?.syncDuration.observe({ full: String(full) }, (performance.now() - started) / 1000);
    if (metrics) {
      this.#scope.follow(this.#d.nftlb.known());
      reportNftlb(
        metrics,
        { capacity: this.#scope.capacity(), marked: this.#scope.marked },
        this.#d.nftlbMemoryBytes,
      );
    }
    this.#d.trace?.({
      stage: "synced",
      at: performance.now(),
      keys: batch,
      ...(failure !== undefined ? { failed: true } : {}),
    });
    return outcomes.map;
  }

  async #sync(batch: readonly string[], full: boolean): Promise<Pass> {
    const { nftlb, view } = this.#d;
    const outcomes = new OutcomeSet();
    // nftlb serves one request at a time and finishes what it read: after a request timed out
    // it is most likely still applying it. Sending the batch again, or GET /farms (10-25 s at
    // 5,000 farms), would queue behind it and time out in turn, each one more request nftlb
    // still serves. Its cheap ping answers once it is free; then this pass re-reads nftlb and
    // plans only what the abandoned write did not put in place.
    if (this.#busy) {
      const pinged = await nftlb.ping();
      if (!pinged.ok) return { failure: pinged.error, outcomes };
      this.#busy = false;
    }
    // A full reconcile (start, every resync period, a Node change, an nftlb restart) reads nftlb
    // again rather than trusting what the client wrote: whatever changed behind the syncer's back
    // (a backend, address or farm removed, a field edited by hand) is then planned and repaired.
    if (this.#needList || full) {
      const listed = await nftlb.listFarms();
      if (!listed.ok) return { failure: listed.error, outcomes };
      this.#needList = false;
    }
    const keys = new Set(batch.filter((k) => k !== FULL));
    if (full) {
      for (const k of view.serviceKeys()) keys.add(k);
      for (const k of this.#memo.services.keys()) keys.add(k);
    }
    this.#memo.recompute(keys);
    for (const [key, reason] of this.#memo.broken) outcomes.set(key, { kind: "retry", reason });
    const services = this.#memo.services;

    for (const key of keys) this.#scope.setDesired(key, services.get(key));

    // Planned again whatever the batch: Services refused for capacity last time (room may have
    // been made), and Services in an address conflict last time (the loser gets the address once
    // the winner lets it go, even if only the winner changed). Which Services a batch plans, and
    // their conflicts: scope-index.ts, from indexes rather than over every Service.
    this.#scope.follow(nftlb.known());
    const selected = this.#scope.select(
      full ? undefined : [...keys, ...this.#held.refusedLastPass, ...this.#conflicted],
    );
    const written = await this.#ownership.desired(selected.farms);
    if ("error" in written) return { failure: written.error, outcomes };
    const resolved = { conflicts: selected.conflicts, farms: written.farms };
    const ownerOfFarm = this.#ownership.ownerOfFarm(this.#scope.owners, ownerOf);
    this.#scope.settled(selected.keys, resolved.farms, ownerOfFarm);
    this.#events.conflicts(resolved.conflicts);
    this.#conflicted = new Set(
      resolved.conflicts.flatMap((c) =>
        [c.winner.service, c.loser.service].map((r) => `${r.namespace}/${r.name}`),
      ),
    );
    const actual = [...nftlb.known().values()];
    const scope = full ? undefined : selected.keys;
    const inScope = (f: Farm) => scope?.has(ownerOfFarm(f.name)) ?? true;
    const held = this.#held.held(resolved.farms, actual.filter(inScope), ownerOfFarm, this.#scope.capacity());
    const planned = (f: Farm) => !held.has(ownerOfFarm(f.name)) && inScope(f);
    const { owns, have } = this.#ownership.view(actual, planned);
    const p = plan(resolved.farms.filter(planned), have, { owns, farmMarks: this.#scope.farmMarks() });
    this.#events.blocked(p.blocked, ownerOfFarm);
    this.#ownership.planned(p.blocked, resolved.farms, ownerOfFarm, scope);
    this.#d.trace?.({ stage: "planned", at: performance.now(), keys: batch });
    // kube-nftlb's table before the write (a LoadBalancer IP gets its firewall before nftlb
    // balances it; a farm losing its last backend is refused as soon as nftlb stops balancing
    // it) and after it (what nftlb now holds). Each farm object's part is parsed once.
    const rules = () =>
      nodeRulesFrom(nftlb.known().values(), services.values(), {
        owns,
        planned: [...this.#scope.plannedFarms()],
        share: this.#shares,
      });
    // A full reconcile re-applies the table whatever the keeper believes (repairs a hand edit);
    // here, before the write, so that after it only a changed table costs another nft run (a
    // cold start is the syncer's start plus one POST: each nft run is added to it).
    const before = this.#d.nodeRules ? rules() : undefined;
    if (before) await this.#d.nodeRules?.update(before, { force: full });
    // The restart sentinel goes in before the first full write, not after it: nftlb restarting
    // between the write and a later plant would get the sentinel and never look restarted (the
    // node left unbalanced until the next resync). Planted first, a restart at any later moment
    // loses it, and the probe re-programs everything.
    if (full && !this.#sentinel) this.#sentinel = (await nftlb.plantSentinel()).ok;
    const applied = await applyPlan(p, ownerOfFarm, {
      nftlb,
      writeBudgetMs: this.#d.writeBudgetMs,
      log: this.#d.log,
      wrote: () => this.stats.writes++,
    });
    if (applied.relist) this.#needList = true;
    for (const [key, error] of applied.refused) {
      outcomes.set(key, { kind: "parked", reason: error });
      this.#events.refused(key, error);
    }
    outcomes.all(applied.unfinished, { kind: "again" });
    if (applied.failure !== undefined) return { failure: applied.failure, outcomes };
    this.#latency.observe(view, keys, this.#d.metrics);
    // Nothing written: nftlb holds what it held, so the table's content is the one above.
    const after = () => (before && operations(p).length === 0 ? before : rules());
    if (this.#d.nodeRules && !(await this.#d.nodeRules.update(after()))) {
      this.#events.rulesFailed(services, this.#d.nodeRules.lastError ?? "");
    }
    if (operations(p).length > 0) await this.#cleanConntrack(p);
    this.#ownership.report(ownerOfFarm);
    return { outcomes };
  }

  /** After a verified write: stale UDP flows go (their next packet is balanced anew). */
  async #cleanConntrack(p: Plan): Promise<void> {
    // Only the farms this pass wrote can have stale flows (kube-proxy cleans per changed
    // Service too): listing every UDP flow of the node after every write cost a conntrack dump.
    const known = this.#d.nftlb.known();
    const written = new Set([...p.upserts.map((f) => f.name), ...p.deleteBackends.map((b) => b.farm)]);
    const farms = [...written].flatMap((name) => known.get(name) ?? []);
    if (farms.length === 0) return;
    const r = await this.#d.conntrack?.clean(farms);
    if (r === undefined) return;
    if (!r.ok) this.#d.log.warn({ err: r.error }, "UDP conntrack cleanup failed");
    else if (r.deleted > 0 || r.skipped > 0)
      this.#d.log.info({ deleted: r.deleted, unreadable: r.skipped }, "stale UDP conntrack entries deleted");
  }
}
