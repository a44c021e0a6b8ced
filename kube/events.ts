// Kubernetes Events on the objects users own (core/v1, what `kubectl describe` shows), deduplicated
// like client-go's recorder: the same type+reason+message on the same object is posted once, and
// repeats only bump the Event's count, at most once per `repeatEveryMs`. A reconcile loop can call
// `record` on every pass without flooding the API server. Posting never throws: an Event is a
// courtesy, and losing one is logged, not fatal.
import { CoreV1Api, PatchStrategy, setHeaderOptions, type KubeConfig } from "@kubernetes/client-node";
import { realTimers, type Timers } from "./timers.ts";
import { describe } from "./informer.ts";

export interface ObjectRef {
  kind: string;
  apiVersion?: string;
  namespace: string;
  name: string;
  uid?: string;
}

export type EventType = "Normal" | "Warning";

/** The two calls an Event recorder needs (a real API client, or a fake in tests). */
export interface EventSink {
  create(namespace: string, event: CoreEvent): Promise<{ name: string }>;
  /** Resolves false when the Event no longer exists (Events expire after an hour). */
  bumpCount(namespace: string, name: string, count: number, lastTimestamp: Date): Promise<boolean>;
}

export interface CoreEvent {
  metadata: { generateName: string; namespace: string };
  involvedObject: ObjectRef;
  type: EventType;
  reason: string;
  message: string;
  count: number;
  firstTimestamp: Date;
  lastTimestamp: Date;
  source: { component: string; host?: string };
  reportingComponent: string;
  reportingInstance?: string;
}

export interface EventRecorderOptions {
  sink: EventSink;
  component: string;
  host?: string;
  timers?: Timers;
  log?: { warn(obj: object, msg: string): void };
  repeatEveryMs?: number;
  /** Most distinct events remembered; the oldest are forgotten first. */
  maxRemembered?: number;
  /** Most API calls at once (default 4); more wait, as client-go's broadcaster queues them. */
  maxInFlight?: number;
  /** Most calls waiting (default 1,000); beyond, new ones are dropped and counted, never queued. */
  maxBacklog?: number;
}

interface Seen {
  name: string | undefined;
  count: number;
  posted: number;
  pending: Promise<void>;
}

/** Kubernetes caps an Event message at 1 KiB. */
const MAX_MESSAGE = 1024;

export class EventRecorder {
  readonly #o: EventRecorderOptions;
  readonly #timers: Timers;
  readonly #seen = new Map<string, Seen>();
  /** Calls to the API server, for metrics and tests. */
  readonly stats = { posted: 0, bumped: 0, suppressed: 0, failed: 0, dropped: 0 };
  #inFlight = 0;
  readonly #waiting: (() => void)[] = [];

  constructor(o: EventRecorderOptions) {
    this.#o = o;
    this.#timers = o.timers ?? realTimers;
  }

  /** Records an event; resolves when any API call it made has finished (callers need not wait). */
  record(ref: ObjectRef, type: EventType, reason: string, message: string): Promise<void> {
    const msg = message.length > MAX_MESSAGE ? `${message.slice(0, MAX_MESSAGE - 1)}…` : message;
    const key = `${ref.kind}\u0000${ref.namespace}\u0000${ref.name}\u0000${ref.uid ?? ""}\u0000${type}\u0000${reason}\u0000${msg}`;
    const now = this.#timers.now();
    const seen = this.#seen.get(key);
    if (seen === undefined) {
      const entry: Seen = { name: undefined, count: 1, posted: now, pending: Promise.resolve() };
      this.#remember(key, entry);
      entry.pending = this.#create(ref, type, reason, msg, entry);
      return entry.pending;
    }
    seen.count++;
    // Refresh its place: recently repeated events are the last to be forgotten.
    this.#seen.delete(key);
    this.#seen.set(key, seen);
    if (now - seen.posted < (this.#o.repeatEveryMs ?? 300_000)) {
      this.stats.suppressed++;
      return seen.pending;
    }
    seen.posted = now;
    seen.pending = seen.pending.then(() => this.#bump(ref, type, reason, msg, seen));
    return seen.pending;
  }

  /** Forget everything recorded about an object (it was deleted, or its problem is fixed). */
  forget(ref: Pick<ObjectRef, "kind" | "namespace" | "name">): void {
    const prefix = `${ref.kind}\u0000${ref.namespace}\u0000${ref.name}\u0000`;
    for (const key of this.#seen.keys()) if (key.startsWith(prefix)) this.#seen.delete(key);
  }

  #remember(key: string, entry: Seen): void {
    this.#seen.set(key, entry);
    const max = this.#o.maxRemembered ?? 10_000;
    while (this.#seen.size > max) {
      const oldest = this.#seen.keys().next().value;
      if (oldest === undefined) break;
      this.#seen.delete(oldest);
    }
  }

  async #create(
    ref: ObjectRef,
    type: EventType,
    reason: string,
    message: string,
    entry: Seen,
  ): Promise<void> {
    const at = new Date(this.#timers.now());
    try {
      const created = await this.#slot(() =>
        this.#o.sink.create(ref.namespace, {
          metadata: { generateName: `${ref.name}.`, namespace: ref.namespace },
          involvedObject: ref,
          type,
          reason,
          message,
          count: entry.count,
          firstTimestamp: at,
          lastTimestamp: at,
          source: { component: this.#o.component, ...(this.#o.host ? { host: this.#o.host } : {}) },
          reportingComponent: this.#o.component,
          ...(this.#o.host ? { reportingInstance: this.#o.host } : {}),
        }),
      );
      if (created === undefined) return;
      entry.name = created.name;
      this.stats.posted++;
    } catch (err) {
      this.stats.failed++;
      this.#o.log?.warn(
        { object: `${ref.namespace}/${ref.name}`, reason, err: describe(err) },
        "cannot post Event",
      );
    }
  }

  /**
   * Runs one API call when a slot is free. Thousands of Services with a problem at once (e.g. over
   * nftlb's capacity) must not open thousands of requests: each holds a socket and buffers.
   * `undefined` when dropped because the backlog is full.
   */
  async #slot<T>(call: () => Promise<T>): Promise<T | undefined> {
    if (this.#inFlight >= (this.#o.maxInFlight ?? 4)) {
      if (this.#waiting.length >= (this.#o.maxBacklog ?? 1000)) {
        this.stats.dropped++;
        return undefined;
      }
      // The finishing call hands its slot over: the count never exceeds the maximum.
      await new Promise<void>((resolve) => this.#waiting.push(resolve));
    } else {
      this.#inFlight++;
    }
    try {
      return await call();
    } finally {
      const next = this.#waiting.shift();
      if (next) next();
      else this.#inFlight--;
    }
  }

  async #bump(ref: ObjectRef, type: EventType, reason: string, message: string, entry: Seen): Promise<void> {
    if (entry.name === undefined) return this.#create(ref, type, reason, message, entry);
    try {
      const name = entry.name;
      const found = await this.#slot(() =>
        this.#o.sink.bumpCount(ref.namespace, name, entry.count, new Date(this.#timers.now())),
      );
      if (found === undefined) return;
      if (found) this.stats.bumped++;
      else return this.#create(ref, type, reason, message, entry);
    } catch (err) {
      this.stats.failed++;
      this.#o.log?.warn(
        { object: `${ref.namespace}/${ref.name}`, reason, err: describe(err) },
        "cannot update Event",
      );
    }
  }
}

/** The EventSink of a real API server, through client-node. */
export function apiEventSink(kc: KubeConfig): EventSink {
  const core = kc.makeApiClient(CoreV1Api);
  return {
    async create(namespace, event) {
      const created = await core.createNamespacedEvent({ namespace, body: event });
      return { name: created.metadata?.name ?? "" };
    },
    async bumpCount(namespace, name, count, lastTimestamp) {
      try {
        // A merge patch: only these two fields change.
        await core.patchNamespacedEvent(
          { namespace, name, body: { count, lastTimestamp } },
          setHeaderOptions("Content-Type", PatchStrategy.MergePatch),
        );
        return true;
      } catch (err) {
        if ((err as { code?: number }).code === 404) return false;
        throw err;
      }
    },
  };
}
