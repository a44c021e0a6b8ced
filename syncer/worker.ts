// The worker: takes a batch from the queue, asks the reconciler what became of each key, and
// alone applies the queue's policy to the answer (forget, retry with backoff, park, run again).
//
// A reconcile that throws is a bug or an answer nobody foresaw; it must never stop the worker
// (the syncer would look alive and program nothing). It is counted, logged, and the whole batch
// is retried with backoff, like any retryable failure.
import type { KeyQueue } from "./queue.ts";
import { OutcomeSet, type Outcomes } from "./outcome.ts";
import type { SyncerMetrics } from "./metrics.ts";

export interface BatchReconciler {
  sync(batch: readonly string[]): Promise<Outcomes>;
}

export interface WorkerOptions {
  log?: { error(obj: object, msg: string): void };
  metrics?: Pick<SyncerMetrics, "syncErrors" | "queueDepth" | "queueRetrying" | "parked">;
  /** Told when the worker waits for work and when it gets some (runtime/heap-trim.ts). */
  quiet?: { idle(): void; busy(): void };
}

/** One batch at a time until the queue shuts down. */
export async function runWorker(
  queue: KeyQueue,
  reconciler: BatchReconciler,
  opts: WorkerOptions = {},
): Promise<void> {
  for (;;) {
    opts.quiet?.idle();
    const batch = await queue.get();
    opts.quiet?.busy();
    if (batch === undefined) return;
    let outcomes: Outcomes;
    try {
      outcomes = await reconciler.sync(batch);
    } catch (err) {
      opts.metrics?.syncErrors.inc();
      opts.log?.error(
        { keys: batch.length, err: err instanceof Error ? (err.stack ?? err.message) : String(err) },
        "reconcile threw; retrying the batch with backoff",
      );
      outcomes = new OutcomeSet().all(batch, { kind: "retry", reason: "reconcile threw" }).map;
    }
    apply(queue, batch, outcomes);
    queue.done(batch);
    const m = opts.metrics;
    m?.queueDepth.set(queue.depth);
    m?.queueRetrying.set(queue.retrying);
    m?.parked.set(queue.parkedCount);
  }
}

/** The queue's policy: what each outcome does to its key. A batch key without one is done. */
export function apply(queue: KeyQueue, batch: readonly string[], outcomes: Outcomes): void {
  for (const key of batch) if (!outcomes.has(key)) queue.forget(key);
  for (const [key, o] of outcomes) {
    if (o.kind === "done") queue.forget(key);
    else if (o.kind === "retry") queue.addRateLimited(key);
    else if (o.kind === "parked") queue.park(key);
    else {
      queue.add(key);
      queue.forget(key);
    }
  }
}
