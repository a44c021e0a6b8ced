// The desired state of every Service as last computed (desired.ts through the ClusterView): a
// batch recomputes only its own keys, a full reconcile all of them. desired() is meant to be
// total; should it throw for one Service, only that one waits (its farms held as nftlb has
// them, the key retried with backoff) and the others, a full reconcile's garbage collection
// included, go on.
import type { ClusterView } from "./cluster.ts";
import type { DesiredService } from "./desired.ts";
import type { SyncerMetrics } from "./metrics.ts";
import type { ServiceEvents } from "./reconcile-events.ts";
import { compact } from "../kube/slim.ts";

export interface MemoDeps {
  view: Pick<ClusterView, "desiredFor">;
  events: Pick<ServiceEvents, "problems">;
  log: { error(obj: object, msg: string): void };
  metrics?: Pick<SyncerMetrics, "syncErrors"> | undefined;
  /** A Service that is gone. */
  gone: (key: string) => void;
}

export class DesiredMemo {
  readonly #d: MemoDeps;
  readonly #by = new Map<string, DesiredService>();
  /** Keys whose desired state threw on this pass, with the reason. */
  readonly broken = new Map<string, string>();

  constructor(deps: MemoDeps) {
    this.#d = deps;
  }

  /** The Services with a desired state, and what it is. */
  get services(): ReadonlyMap<string, DesiredService> {
    return this.#by;
  }

  /** Recompute these keys, telling each Service about its problems; `broken` says which threw. */
  recompute(keys: Iterable<string>): void {
    this.broken.clear();
    for (const key of keys) this.#one(key);
  }

  #one(key: string): void {
    let d: DesiredService | undefined;
    try {
      d = this.#d.view.desiredFor(key);
    } catch (err) {
      const reason = err instanceof Error ? err.message : String(err);
      this.broken.set(key, reason);
      this.#d.metrics?.syncErrors.inc();
      this.#d.log.error(
        { key, err: err instanceof Error ? (err.stack ?? reason) : reason },
        "computing the Service's farms threw; its farms are left as they are, retrying with backoff",
      );
      return;
    }
    if (d === undefined) {
      this.#by.delete(key);
      this.#d.gone(key);
      return;
    }
    // Kept until the Service changes: a compact copy (desired's arrays grow by push, and V8
    // reserves slots beyond their length; at 10,000 Services 17.8 → 14.8 MiB, kube/slim.ts).
    this.#by.set(key, compact(d));
    this.#d.events.problems(key, d);
  }
}
