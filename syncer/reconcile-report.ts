// What a reconcile pass tells Prometheus: what nftlb holds (marked farms, backends, addresses, the
// memory estimate against its limit) and the network programming latency of each EndpointSlice
// change (its last-change-trigger-time → in nftlb), kube-proxy's SLI; at the end of a pass, its
// duration and its trace's last stage.
import { MAX_BACKENDS_PER_FARM } from "../nftlb/marks.ts";
import type { Capacity } from "./capacity.ts";
import type { ClusterView } from "./cluster.ts";
import type { SyncerMetrics } from "./metrics.ts";
import type { SyncTrace } from "./trace.ts";

/**
 * The end of a pass (`started`: its `performance.now()`): how long it took, what nftlb holds
 * (`held`, counted only when there are metrics), and the trace's "synced" stage.
 */
export function reportPass(
  d: {
    metrics?: SyncerMetrics | undefined;
    trace?: SyncTrace | undefined;
    nftlbMemoryBytes?: number | undefined;
  },
  pass: { batch: readonly string[]; full: boolean; started: number; failed: boolean },
  held: () => { capacity: Capacity; marked: number },
): void {
  const { metrics } = d;
  metrics?.syncDuration.observe({ full: String(pass.full) }, (performance.now() - pass.started) / 1000);
  if (metrics) reportNftlb(metrics, held(), d.nftlbMemoryBytes);
  d.trace?.({
    stage: "synced",
    at: performance.now(),
    keys: pass.batch,
    ...(pass.failed ? { failed: true } : {}),
  });
}

/**
 * What nftlb holds, from counts kept up to date farm by farm (scope-index.ts follows the client's
 * farms and re-counts only those that changed): walking every farm on every pass made this report
 * grow with the node's farms, not with the change.
 */
function reportNftlb(
  m: SyncerMetrics,
  held: { capacity: Capacity; marked: number },
  memoryLimit: number | undefined,
): void {
  m.farms.set(held.marked);
  m.backends.set(held.capacity.backends);
  m.addresses.set(held.capacity.addresses);
  m.addressBytes.set(held.capacity.memoryBytes);
  m.backendLimit.set(MAX_BACKENDS_PER_FARM);
  if (memoryLimit !== undefined) m.memoryLimit.set(memoryLimit);
}

/** EndpointSlice trigger time → now, once per trigger, for changes made since the syncer started. */
export class ProgrammingLatency {
  readonly #seen = new Map<string, number>();
  readonly #started: number;
  readonly #now: () => number;

  constructor(now: () => number) {
    this.#now = now;
    this.#started = now();
  }

  observe(
    view: Pick<ClusterView, "triggerTimes">,
    keys: Iterable<string>,
    metrics: SyncerMetrics | undefined,
  ): void {
    const now = this.#now();
    for (const key of keys) {
      for (const [slice, t] of view.triggerTimes(key)) {
        const id = `${key}/${slice}`;
        if (this.#seen.get(id) === t) continue;
        this.#seen.set(id, t);
        if (t >= this.#started) metrics?.programming.observe(Math.max(0, now - t) / 1000);
      }
    }
  }

  /** A Service that is gone: its triggers go too. */
  forget(key: string): void {
    for (const id of this.#seen.keys()) if (id.startsWith(`${key}/`)) this.#seen.delete(id);
  }
}
