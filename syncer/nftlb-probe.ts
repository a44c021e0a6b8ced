// Watching nftlb: wait until it answers before anything is written (writes sent before it
// listens would be lost), then ask every probe period whether it still answers and whether it
// still holds its farms (the sentinel): a restarted nftlb has deleted its tables and must be
// re-programmed whole.
import type { Sources } from "../kube/sources.ts";
import { backoff, type Timer, type Timers } from "../kube/timers.ts";
import type { NftlbClient } from "../nftlb/index.ts";
import type { Logger } from "../runtime/index.ts";
import type { SyncerMetrics } from "./metrics.ts";
import type { NodeRulesKeeper } from "./node-rules-keeper.ts";
import type { KeyQueue } from "./queue.ts";
import { FULL, type Reconciler } from "./reconcile.ts";

/** The last probe's answer: a hung or gone nftlb makes the syncer unready. */
export interface NftlbHealth {
  up: boolean;
  /** Why the last probe failed (/readyz says it); undefined once nftlb answers. */
  error?: string | undefined;
}

export interface NftlbProbeDeps {
  nftlb: NftlbClient;
  health: NftlbHealth;
  metrics: SyncerMetrics;
  log: Logger;
  timers: Timers;
  /** Every timer started here, so that stop() cancels it. */
  timersToCancel: Timer[];
  stopping: () => boolean;
}

const told = (health: NftlbHealth, r: Awaited<ReturnType<NftlbClient["ping"]>>): void => {
  health.up = r.ok;
  health.error = r.ok ? undefined : r.error.message;
};

/** Resolves once nftlb answers a ping, or once the syncer is stopping. */
export async function waitForNftlb(d: NftlbProbeDeps): Promise<void> {
  const { nftlb, health, metrics, log, timers, timersToCancel } = d;
  for (let attempt = 0; !d.stopping(); attempt++) {
    const r = await nftlb.ping();
    told(health, r);
    metrics.nftlbUp.set(r.ok ? 1 : 0);
    if (r.ok) break;
    const wait = backoff(attempt, 500, 10_000);
    log.warn({ err: r.error.message, retryInMs: wait }, "waiting for nftlb");
    await new Promise<void>((res) => timersToCancel.push(timers.after(wait, res)));
  }
}

/** Probes nftlb every periodMs until the syncer stops. */
export function probeNftlbEvery(
  periodMs: number,
  d: NftlbProbeDeps & {
    sources: Sources;
    reconciler: Reconciler;
    queue: KeyQueue;
    nodeRules: NodeRulesKeeper | undefined;
    /** Asked after every probe, so a lost readiness is logged even when nobody polls /readyz. */
    readiness: { check(): unknown };
  },
): void {
  const { nftlb, health, metrics, log, timers, timersToCancel, sources, reconciler, queue } = d;
  const probe = async () => {
    // Whether the sentinel was planted BEFORE asking: one planted while the ping was on its way
    // is missing from its answer, and that is no restart.
    const planted = reconciler.sentinelPlanted;
    const r = await nftlb.ping();
    if (health.up !== r.ok) {
      if (r.ok) log.info({}, "nftlb answers again");
      else log.warn({ err: r.error.message }, "nftlb does not answer: unready until it does");
    }
    told(health, r);
    metrics.nftlbUp.set(r.ok ? 1 : 0);
    for (const inf of sources.all()) {
      metrics.informerRestarts.set({ informer: inf.name }, inf.stats.restarts);
      metrics.informerRelists.set({ informer: inf.name }, inf.stats.relists);
    }
    await d.nodeRules?.check();
    if (r.ok && !r.value.sentinel && planted && reconciler.sentinelPlanted) {
      metrics.nftlbRestarts.inc();
      log.warn({}, "nftlb lost its farms (restarted): re-programming everything");
      reconciler.nftlbRestarted();
      queue.add(FULL);
    }
    // A Service waiting for an address a foreign farm holds takes it within a probe period.
    for (const key of await reconciler.recheckForeign()) queue.add(key);
    d.readiness.check();
    if (!d.stopping()) timersToCancel.push(timers.after(periodMs, () => void probe()));
  };
  timersToCancel.push(timers.after(periodMs, () => void probe()));
}
