// A supervised informer over @kubernetes/client-node 2.x's ListWatch.
//
// What ListWatch 2.0.1 really does (dist/cache.js, dist/watch.js):
// - on a 410 (HTTP or in-stream) it relists by itself; on a client-side inactivity timeout (30 s
//   without a byte) it re-watches from the last resourceVersion;
// - on ANY other error (list failure, 5xx, 429, 401, ECONNRESET) it fires 'error' and STOPS;
// - `start()` resolves even when the first list failed (the failure only reaches 'error');
// - `stop()` aborts the request, which fires 'error' with an AbortError;
// - it never relists on its own schedule.
// So this wrapper restarts it with jittered backoff after every error, derives a real "synced"
// from a start that saw no error, ignores the AbortErrors it causes itself, and every
// `resyncMs` lists afresh into a new ListWatch, diffs the two caches and swaps — so a watch that
// silently lost events cannot leave the caches stale for longer than one period.
import { backoff, realTimers, type Timer, type Timers } from "./timers.ts";

export interface KubeObject {
  metadata?: {
    name?: string;
    namespace?: string;
    resourceVersion?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
  };
}

/** The part of client-node's ListWatch this wrapper uses (a fake in unit tests). */
export interface ListWatchLike<T> {
  start(): Promise<void>;
  stop(): Promise<void>;
  on(verb: "add" | "update" | "delete", cb: (obj: T) => void): void;
  on(verb: "error", cb: (err: unknown) => void): void;
  list(namespace?: string): readonly T[];
  get(name: string, namespace?: string): T | undefined;
}

export type ChangeKind = "add" | "update" | "delete";

export interface InformerLog {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

export interface SupervisedInformerOptions<T> {
  /** For logs and metrics: "services", "endpointslices", … */
  name: string;
  /** Makes a fresh, not yet started ListWatch (one per relist). */
  makeListWatch: () => ListWatchLike<T>;
  timers?: Timers;
  log?: InformerLog;
  /** Full relist period (ms); 0 disables. */
  resyncMs?: number;
  restartBaseMs?: number;
  restartCapMs?: number;
  /** A secondary index, e.g. EndpointSlices by `namespace/service-name`. */
  indexBy?: (obj: T) => string | undefined;
}

const objKey = (o: KubeObject): string => `${o.metadata?.namespace ?? ""}/${o.metadata?.name ?? ""}`;

export class SupervisedInformer<T extends KubeObject> {
  readonly name: string;
  readonly #o: Required<Omit<SupervisedInformerOptions<T>, "indexBy" | "log">> & SupervisedInformerOptions<T>;
  readonly #timers: Timers;
  #current: ListWatchLike<T>;
  #staging: ListWatchLike<T> | undefined;
  #handlers: ((obj: T, kind: ChangeKind) => void)[] = [];
  #synced = false;
  #syncedWaiters: (() => void)[] = [];
  #stopped = true;
  #attempt = 0;
  #restartTimer: Timer | undefined;
  #resyncTimer: Timer | undefined;
  #errorDuringStart = false;
  /** Index value → its objects: the one object as is (nearly always one slice a Service), a Map from two on. */
  #index = new Map<string, T | Map<string, T>>();
  #indexOf = new Map<string, string>();
  /** Counters for metrics and tests. */
  readonly stats = { restarts: 0, relists: 0, errors: 0, lastError: "" };

  constructor(opts: SupervisedInformerOptions<T>) {
    this.name = opts.name;
    this.#o = { timers: realTimers, resyncMs: 300_000, restartBaseMs: 1_000, restartCapMs: 30_000, ...opts };
    this.#timers = this.#o.timers;
    this.#current = this.#wire(this.#o.makeListWatch());
  }

  onChange(cb: (obj: T, kind: ChangeKind) => void): void {
    this.#handlers.push(cb);
  }

  start(): void {
    if (!this.#stopped) return;
    this.#stopped = false;
    void this.#run();
    this.#scheduleResync(this.#o.resyncMs);
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    this.#restartTimer?.cancel();
    this.#resyncTimer?.cancel();
    await Promise.all([this.#current.stop(), this.#staging?.stop()]);
  }

  /** True once a list succeeded; never false again (the cache stays usable while re-watching). */
  get synced(): boolean {
    return this.#synced;
  }

  whenSynced(): Promise<void> {
    if (this.#synced) return Promise.resolve();
    return new Promise((resolve) => this.#syncedWaiters.push(resolve));
  }

  list(namespace?: string): readonly T[] {
    return this.#current.list(namespace);
  }

  get(name: string, namespace?: string): T | undefined {
    return this.#current.get(name, namespace);
  }

  /** Objects whose `indexBy` value is `key`. */
  byIndex(key: string): T[] {
    const at = this.#index.get(key);
    return at === undefined ? [] : at instanceof Map ? [...at.values()] : [at];
  }

  #wire(lw: ListWatchLike<T>): ListWatchLike<T> {
    const forward = (kind: ChangeKind) => (obj: T) => {
      if (lw !== this.#current) return; // a staging relist: diffed at swap time instead
      this.#indexChange(obj, kind);
      this.#emit(obj, kind);
    };
    lw.on("add", forward("add"));
    lw.on("update", forward("update"));
    lw.on("delete", forward("delete"));
    lw.on("error", (err) => this.#onError(lw, err));
    return lw;
  }

  #emit(obj: T, kind: ChangeKind): void {
    for (const h of this.#handlers) h(obj, kind);
  }

  async #run(): Promise<void> {
    this.#errorDuringStart = false;
    try {
      await this.#current.start();
    } catch (err) {
      this.#onError(this.#current, err);
    }
    if (this.#stopped || this.#errorDuringStart) return;
    this.#attempt = 0;
    if (!this.#synced) {
      this.#rebuildIndex();
      this.#synced = true;
      this.#o.log?.info({ informer: this.name, objects: this.#current.list().length }, "informer synced");
      this.#syncedWaiters.splice(0).forEach((f) => f());
    }
  }

  #onError(lw: ListWatchLike<T>, err: unknown): void {
    if (this.#stopped || isAbort(err)) return;
    if (lw === this.#staging) return; // the relist attempt notices through its own start
    if (lw !== this.#current) return;
    this.#errorDuringStart = true;
    this.stats.errors++;
    this.stats.lastError = describe(err);
    if (this.#restartTimer !== undefined) return;
    const delay = backoff(this.#attempt++, this.#o.restartBaseMs, this.#o.restartCapMs, 0.2);
    this.#o.log?.warn(
      { informer: this.name, err: this.stats.lastError, retryInMs: delay },
      "informer stopped; restarting",
    );
    this.#restartTimer = this.#timers.after(delay, () => {
      this.#restartTimer = undefined;
      if (this.#stopped) return;
      this.stats.restarts++;
      void this.#run();
    });
  }

  #scheduleResync(ms: number): void {
    if (ms <= 0 || this.#stopped) return;
    this.#resyncTimer = this.#timers.after(ms, () => void this.#relist());
  }

  /** List into a fresh ListWatch, then swap it in and report what differs. */
  async #relist(): Promise<void> {
    if (this.#stopped) return;
    let failed = false;
    const next = this.#o.makeListWatch();
    next.on("error", (err) => {
      if (!isAbort(err)) failed = true;
    });
    this.#staging = this.#wire(next);
    try {
      await next.start();
    } catch {
      failed = true;
    }
    this.#staging = undefined;
    if (this.#stopped || failed) {
      await next.stop();
      // The current ListWatch keeps serving; try again sooner than a full period.
      this.#scheduleResync(Math.min(this.#o.resyncMs, this.#o.restartCapMs));
      return;
    }
    const old = this.#current;
    this.#current = next;
    this.#restartTimer?.cancel();
    this.#restartTimer = undefined;
    this.#attempt = 0;
    this.stats.relists++;
    this.#rebuildIndex();
    this.#diff(old, next);
    if (!this.#synced) {
      this.#synced = true;
      this.#syncedWaiters.splice(0).forEach((f) => f());
    }
    await old.stop();
    this.#scheduleResync(this.#o.resyncMs);
  }

  #diff(old: ListWatchLike<T>, next: ListWatchLike<T>): void {
    const before = new Map(old.list().map((o) => [objKey(o), o]));
    for (const obj of next.list()) {
      const prev = before.get(objKey(obj));
      before.delete(objKey(obj));
      if (prev === undefined) this.#emit(obj, "add");
      else if (prev.metadata?.resourceVersion !== obj.metadata?.resourceVersion) this.#emit(obj, "update");
    }
    for (const gone of before.values()) this.#emit(gone, "delete");
  }

  #indexChange(obj: T, kind: ChangeKind): void {
    if (this.#o.indexBy === undefined) return;
    const k = objKey(obj);
    const oldIdx = this.#indexOf.get(k);
    if (oldIdx !== undefined) {
      const at = this.#index.get(oldIdx);
      if (!(at instanceof Map)) this.#index.delete(oldIdx);
      else if (at.delete(k) && at.size === 1) this.#index.set(oldIdx, at.values().next().value!);
      this.#indexOf.delete(k);
    }
    if (kind === "delete") return;
    const idx = this.#o.indexBy(obj);
    if (idx === undefined) return;
    const at = this.#index.get(idx);
    if (at === undefined) this.#index.set(idx, obj);
    else if (at instanceof Map) at.set(k, obj);
    else
      this.#index.set(
        idx,
        new Map([
          [objKey(at), at],
          [k, obj],
        ]),
      );
    this.#indexOf.set(k, idx);
  }

  #rebuildIndex(): void {
    this.#index.clear();
    this.#indexOf.clear();
    for (const obj of this.#current.list()) this.#indexChange(obj, "add");
  }
}

function isAbort(err: unknown): boolean {
  return err instanceof Error && err.name === "AbortError";
}

/** The reason and message of a metav1.Status body (a string as client-node keeps it, or parsed). */
function statusText(body: unknown): string | undefined {
  let s: unknown = body;
  if (typeof body === "string") {
    try {
      s = JSON.parse(body);
    } catch {
      return undefined;
    }
  }
  const st = s as { kind?: unknown; reason?: unknown; message?: unknown } | null;
  if (st?.kind !== "Status" || typeof st.message !== "string") return undefined;
  return typeof st.reason === "string" && st.reason !== "" ? `${st.reason}: ${st.message}` : st.message;
}

export function describe(err: unknown): string {
  if (err instanceof Error) {
    const e = err as { statusCode?: unknown; code?: unknown; body?: unknown };
    const code = e.statusCode ?? e.code;
    // client-node's ApiException wraps the server's Status JSON in its own text; a 403 must read
    // as the server said it (who cannot do what), not as escaped JSON
    const status = statusText(e.body);
    if (status !== undefined) return typeof code === "number" ? `${status} (${code})` : status;
    return typeof code === "number" || typeof code === "string" ? `${err.message} (${code})` : err.message;
  }
  return String(err);
}
