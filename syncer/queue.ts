// The coalescing keyed work queue (client-go workqueue semantics, plus batching).
//
// Informer callbacks add `namespace/name` keys, never events: a key already waiting is not added
// twice, a key re-added while it is being processed runs once more after `done`, and one key is
// never handed out twice at once. A worker takes every ready key in one batch, so a burst of
// changes becomes one reconcile of many keys — and one nftlb POST. Retryable failures come back
// after a per-key exponential backoff; terminal failures are parked until the object changes.
import { backoff, realTimers, type Timer, type Timers } from "../kube/timers.ts";

export interface QueueOptions {
  timers?: Timers;
  /** First retry delay after a retryable failure (ms); doubles per failure. */
  backoffBaseMs?: number;
  /** Longest retry delay (ms). */
  backoffCapMs?: number;
  /** Most keys in one batch. */
  maxBatch?: number;
  /** How long a batch waits after its first key for more to arrive (ms); 0 = the same turn only. */
  batchWindowMs?: number;
}

export interface AddOptions {
  /**
   * A periodic resync rather than an object change: a parked key stays parked (its object has
   * not changed, so the same input would fail the same way).
   */
  resync?: boolean;
}

export class KeyQueue {
  readonly #timers: Timers;
  readonly #base: number;
  readonly #cap: number;
  readonly #maxBatch: number;
  readonly #window: number;
  /** Waiting keys in arrival order (a Set keeps order and refuses duplicates). */
  #queue = new Set<string>();
  /** Keys being processed by a worker. */
  #processing = new Set<string>();
  /** Keys re-added while processing: they go back in the queue on `done`. */
  #dirty = new Set<string>();
  /** Keys waiting for their backoff to end. */
  #delayed = new Map<string, { at: number; timer: Timer }>();
  #failures = new Map<string, number>();
  #parked = new Set<string>();
  #waiters: ((batch: string[] | undefined) => void)[] = [];
  #windowTimer: Timer | undefined;
  #windowOpen = false;
  #shuttingDown = false;
  #drained: (() => void)[] = [];

  constructor(opts: QueueOptions = {}) {
    this.#timers = opts.timers ?? realTimers;
    this.#base = opts.backoffBaseMs ?? 500;
    this.#cap = opts.backoffCapMs ?? 30_000;
    this.#maxBatch = opts.maxBatch ?? 5_000;
    this.#window = opts.batchWindowMs ?? 0;
  }

  /** Queue a key because its object changed (or, with `resync`, because it is time to check). */
  add(key: string, opts: AddOptions = {}): void {
    if (this.#shuttingDown) return;
    if (opts.resync === true && this.#parked.has(key)) return;
    this.#parked.delete(key);
    const delayed = this.#delayed.get(key);
    if (delayed !== undefined && opts.resync !== true) {
      // The object changed: its retry need not wait out the old input's backoff.
      delayed.timer.cancel();
      this.#delayed.delete(key);
    } else if (delayed !== undefined) {
      return;
    }
    this.#enqueue(key);
  }

  /** Retry a key after its backoff (a retryable failure). */
  addRateLimited(key: string): void {
    if (this.#shuttingDown) return;
    const n = this.#failures.get(key) ?? 0;
    this.#failures.set(key, n + 1);
    this.addAfter(key, backoff(n, this.#base, this.#cap));
  }

  addAfter(key: string, ms: number): void {
    if (this.#shuttingDown) return;
    if (ms <= 0) return this.#enqueue(key);
    const at = this.#timers.now() + ms;
    const existing = this.#delayed.get(key);
    if (existing !== undefined) {
      if (existing.at <= at) return;
      existing.timer.cancel();
    }
    const timer = this.#timers.after(ms, () => {
      this.#delayed.delete(key);
      this.#enqueue(key);
    });
    this.#delayed.set(key, { at, timer });
  }

  /** A key succeeded: its next failure starts the backoff again from the base. */
  forget(key: string): void {
    this.#failures.delete(key);
  }

  /** A terminal failure: no retry (not even on resync) until `add` says the object changed. */
  park(key: string): void {
    this.#failures.delete(key);
    this.#parked.add(key);
  }

  isParked(key: string): boolean {
    return this.#parked.has(key);
  }

  get parkedCount(): number {
    return this.#parked.size;
  }

  failures(key: string): number {
    return this.#failures.get(key) ?? 0;
  }

  /** Keys waiting to run now (not those in backoff nor being processed). */
  get depth(): number {
    return this.#queue.size;
  }

  get retrying(): number {
    return this.#delayed.size;
  }

  /**
   * The next batch of ready keys, every one now marked as processing; `undefined` once shut down.
   * Call `done(batch)` when finished with it.
   */
  get(): Promise<string[] | undefined> {
    if (this.#shuttingDown) return Promise.resolve(undefined);
    return new Promise((resolve) => {
      this.#waiters.push(resolve);
      this.#dispatch();
    });
  }

  done(keys: Iterable<string>): void {
    for (const key of keys) {
      this.#processing.delete(key);
      if (this.#dirty.delete(key) && !this.#shuttingDown) this.#enqueue(key);
    }
    if (this.#processing.size === 0 && this.#shuttingDown) this.#drained.splice(0).forEach((f) => f());
  }

  /** Stop handing out keys; resolves once every batch already handed out is `done`. */
  shutDown(): Promise<void> {
    this.#shuttingDown = true;
    for (const d of this.#delayed.values()) d.timer.cancel();
    this.#delayed.clear();
    this.#windowTimer?.cancel();
    this.#waiters.splice(0).forEach((w) => w(undefined));
    if (this.#processing.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.#drained.push(resolve));
  }

  #enqueue(key: string): void {
    if (this.#shuttingDown) return;
    if (this.#processing.has(key)) {
      this.#dirty.add(key);
      return;
    }
    this.#queue.add(key);
    this.#dispatch();
  }

  #dispatch(): void {
    if (this.#waiters.length === 0 || this.#queue.size === 0 || this.#windowOpen) return;
    // Hand the batch out on a later turn so that keys added in the same burst ride along.
    this.#windowOpen = true;
    this.#windowTimer = this.#timers.after(this.#window, () => {
      this.#windowOpen = false;
      this.#windowTimer = undefined;
      this.#handOut();
    });
  }

  #handOut(): void {
    const waiter = this.#waiters.shift();
    if (waiter === undefined || this.#queue.size === 0) {
      if (waiter !== undefined) this.#waiters.unshift(waiter);
      return;
    }
    const batch: string[] = [];
    for (const key of this.#queue) {
      if (batch.length >= this.#maxBatch) break;
      batch.push(key);
    }
    for (const key of batch) {
      this.#queue.delete(key);
      this.#processing.add(key);
    }
    waiter(batch);
    this.#dispatch();
  }
}
