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
import { operations } from "./plan.ts";
import type { ClusterView } from "./cluster.ts";
import type { SyncerMetrics } from "./metrics.ts";
import { rememberedShares, type FarmShare } from "./node-rules-desired.ts";
import type { SyncTrace } from "./trace.ts";
import { OutcomeSet, type Outcomes } from "./outcome.ts";
import { ownerOf } from "./ownership.ts";
import { PassOwnership } from "./reconcile-ownership.ts";
import { ScopeIndex } from "./scope-index.ts";
import { checkedDraft, type DraftParts } from "./reconcile-draft.ts";
import { HeldKeys } from "./reconcile-held.ts";
import { ServiceEvents, type EventSink } from "./reconcile-events.ts";
import { applyPlan } from "./reconcile-apply.ts";
import { ProgrammingLatency, reportPass } from "./reconcile-report.ts";
import { DesiredMemo } from "./reconcile-memo.ts";
import { NftlbReads } from "./reconcile-read.ts";
import type { TableKeeper } from "./reconcile-node-rules.ts";
import { cleanConntrack } from "./reconcile-conntrack.ts";
import { Programmed } from "./reconcile-programmed.ts";

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
  nodeRules?: TableKeeper;
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
  readonly #reads: NftlbReads;
  readonly #programmed: Programmed;
  readonly #parts: DraftParts;
  /** For tests and benchmarks: nftlb writes (POST/DELETE) sent. */
  readonly stats = { syncs: 0, writes: 0, failures: 0 };

  constructor(deps: ReconcilerDeps) {
    this.#d = deps;
    this.#reads = new NftlbReads(deps.nftlb);
    this.#programmed = new Programmed(deps.log);
    this.#shares = rememberedShares(deps.farmShare);
    this.#events = new ServiceEvents((key) => deps.view.serviceRef(key), deps.events);
    this.#ownership = new PassOwnership({
      nftlb: deps.nftlb,
      adopt: deps.adoptUpstreamFarms ?? false,
      upstreamFarms: () => this.#scope.upstream(),
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
    this.#parts = {
      d: deps,
      ownership: this.#ownership,
      scope: this.#scope,
      held: this.#held,
      services: () => this.#memo.services,
      share: this.#shares,
    };
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
    return this.#programmed.programmed;
  }

  /** Why nftlb is not programmed (for /readyz), or undefined when it is. */
  get unprogrammed(): string | undefined {
    return this.#programmed.unprogrammed;
  }

  get sentinelPlanted(): boolean {
    return this.#reads.sentinelPlanted;
  }

  /** At start, before the informers: nftlb read while they list the cluster (reconcile-read.ts). */
  prefetchNftlb(): void {
    this.#reads.prefetch();
  }

  /** nftlb lost its farms (restarted): the next pass reads it again; the caller queues FULL. */
  nftlbRestarted(): void {
    this.#reads.restarted();
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
      this.#reads.stale();
      throw err;
    }
    const { metrics } = this.#d;
    const { failure, outcomes } = pass;
    if (failure !== undefined) {
      this.stats.failures++;
      this.#reads.failed(failure);
      this.#programmed.failed(failure, batch.length);
      outcomes.all(batch, { kind: "retry", reason: failure.message });
    } else {
      outcomes.all(batch, { kind: "done" });
      this.#programmed.succeeded(full, () => this.#d.nftlb.known().size);
      metrics?.lastSync.set(Date.now() / 1000);
    }
    reportPass(this.#d, { batch, full, started, failed: failure !== undefined }, () => {
      this.#scope.follow(this.#d.nftlb.known());
      return { capacity: this.#scope.capacity(), marked: this.#scope.marked };
    });
    return outcomes.map;
  }

  async #sync(batch: readonly string[], full: boolean): Promise<Pass> {
    const { nftlb, view } = this.#d;
    const outcomes = new OutcomeSet();
    const unread = await this.#reads.read(full);
    if (unread !== undefined) return { failure: unread, outcomes };
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
    // Planned while nftlb answers the ownership check; nothing is written before it resolves.
    const d = await checkedDraft(this.#parts, selected, full);
    if ("error" in d) return { failure: d.error, outcomes };
    const { p, ownerOfFarm, table } = d;
    this.#events.conflicts(selected.conflicts);
    this.#conflicted = new Set(
      selected.conflicts.flatMap((c) =>
        [c.winner.service, c.loser.service].map((r) => `${r.namespace}/${r.name}`),
      ),
    );
    this.#held.commit(d.refused);
    this.#scope.keepSettled(d.settled);
    this.#events.blocked(p.blocked, ownerOfFarm);
    this.#ownership.planned(p.blocked, d.farms, ownerOfFarm, d.scope);
    this.#d.trace?.({ stage: "planned", at: performance.now(), keys: batch });
    await table.before(full);
    await this.#reads.plantSentinel(full);
    const applied = await applyPlan(p, ownerOfFarm, {
      nftlb,
      writeBudgetMs: this.#d.writeBudgetMs,
      log: this.#d.log,
      wrote: () => this.stats.writes++,
    });
    if (applied.relist) this.#reads.stale();
    for (const [key, error] of applied.refused) {
      outcomes.set(key, { kind: "parked", reason: error });
      this.#events.refused(key, error);
    }
    outcomes.all(applied.unfinished, { kind: "again" });
    if (applied.failure !== undefined) return { failure: applied.failure, outcomes };
    this.#latency.observe(view, keys, this.#d.metrics);
    // Its nft run goes on after the pass (reconcile-node-rules.ts); a full pass ends with it.
    const tail = table.after(operations(p).length > 0, (e) => this.#events.rulesFailed(services, e));
    if (full) await tail;
    if (operations(p).length > 0) await cleanConntrack(p, this.#d);
    this.#ownership.report(ownerOfFarm);
    return { outcomes };
  }
}
