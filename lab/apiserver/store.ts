// The in-memory "etcd": objects by resource and namespace/name, one global revision counter
// stamped as resourceVersion on every write (as etcd's revision is), and a bounded window of
// recent events that watches replay from. A watch from a revision older than the window is
// "too old" (410 Expired), exactly what a compacted etcd or an outrun watch cache answers.
import type { Resource } from "./resources.ts";

export type Obj = Record<string, unknown> & { metadata: Meta };
export interface Meta {
  name?: string;
  generateName?: string;
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
  generation?: number;
  creationTimestamp?: string;
  deletionTimestamp?: string;
  deletionGracePeriodSeconds?: number;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  finalizers?: string[];
  ownerReferences?: unknown[];
  managedFields?: unknown[];
  [k: string]: unknown;
}

export type EventType = "ADDED" | "MODIFIED" | "DELETED";
export interface StoreEvent {
  type: EventType;
  rv: number;
  res: Resource;
  object: Obj;
  /** the object before this change (MODIFIED, DELETED): watches need it to tell "left the selector" */
  prev: Obj | undefined;
}

const resKey = (res: Resource) => `${res.group}/${res.resource}`;
const objKey = (ns: string | undefined, name: string) => `${ns ?? ""}/${name}`;

export class Store {
  #rv = 1;
  #compacted = 0;
  readonly #objects = new Map<string, Map<string, Obj>>();
  readonly #history: StoreEvent[] = [];
  readonly #listeners = new Set<(e: StoreEvent) => void>();
  readonly #historySize: number;

  constructor(historySize = 1000) {
    this.#historySize = historySize;
  }

  get revision(): number {
    return this.#rv;
  }

  /** Watches from a revision below this answer 410 Expired. */
  get compactedRevision(): number {
    return this.#compacted;
  }

  #bucket(res: Resource): Map<string, Obj> {
    let b = this.#objects.get(resKey(res));
    if (b === undefined) this.#objects.set(resKey(res), (b = new Map<string, Obj>()));
    return b;
  }

  get(res: Resource, ns: string | undefined, name: string): Obj | undefined {
    const o = this.#bucket(res).get(objKey(ns, name));
    return o === undefined ? undefined : structuredClone(o);
  }

  /**
   * What `f` reads of a stored object, without the copy get() makes; undefined when there is
   * none. `f` must neither keep nor change what it is given (the write pipeline's checks).
   */
  look<T>(res: Resource, ns: string | undefined, name: string, f: (o: Readonly<Obj>) => T): T | undefined {
    const o = this.#bucket(res).get(objKey(ns, name));
    return o === undefined ? undefined : f(o);
  }

  /**
   * Sorted by namespace then name, as etcd's key order returns them. `where` picks objects
   * before they are copied (a controller's lookup by label costs a scan, not a deep copy of all).
   */
  list(res: Resource, ns?: string, where?: (o: Readonly<Obj>) => boolean): Obj[] {
    const out: Obj[] = [];
    for (const [k, o] of this.#bucket(res))
      if ((ns === undefined || k.startsWith(`${ns}/`)) && (where === undefined || where(o))) out.push(o);
    // etcd returns keys in byte order
    const key = (o: Obj) => objKey(o.metadata.namespace, o.metadata.name ?? "");
    return out
      .sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0))
      .map((o) => structuredClone(o));
  }

  /**
   * Create or replace; stamps the next revision. Returns a copy of what is stored, so no caller
   * ever holds the stored object. `obj` is copied too, unless `handedOver`: the write pipeline's
   * own object, which nothing else holds a reference to once it is stored.
   */
  put(res: Resource, obj: Obj, o: { handedOver?: boolean } = {}): Obj {
    const key = objKey(obj.metadata.namespace, obj.metadata.name ?? "");
    const bucket = this.#bucket(res);
    const prev = bucket.get(key);
    const stored = o.handedOver === true ? obj : structuredClone(obj);
    stored.metadata.resourceVersion = String(++this.#rv);
    bucket.set(key, stored);
    this.#emit({ type: prev === undefined ? "ADDED" : "MODIFIED", rv: this.#rv, res, object: stored, prev });
    return structuredClone(stored);
  }

  remove(res: Resource, ns: string | undefined, name: string): Obj | undefined {
    const bucket = this.#bucket(res);
    const prev = bucket.get(objKey(ns, name));
    if (prev === undefined) return undefined;
    bucket.delete(objKey(ns, name));
    const gone = structuredClone(prev);
    gone.metadata.resourceVersion = String(++this.#rv);
    this.#emit({ type: "DELETED", rv: this.#rv, res, object: gone, prev });
    return structuredClone(gone);
  }

  #emit(e: StoreEvent): void {
    this.#history.push(e);
    while (this.#history.length > this.#historySize) {
      const dropped = this.#history.shift();
      if (dropped !== undefined) this.#compacted = Math.max(this.#compacted, dropped.rv);
    }
    for (const l of this.#listeners) l(e);
  }

  /**
   * Events of `res` after revision `rv`, or "expired" when the window no longer reaches back
   * that far. The second number is the oldest revision still servable, as the watch cache says.
   */
  since(res: Resource, rv: number): StoreEvent[] | { expired: string } {
    if (rv < this.#compacted) return { expired: `too old resource version: ${rv} (${this.#compacted})` };
    return this.#history.filter((e) => e.rv > rv && e.res === res);
  }

  /**
   * Forget all history (etcd compaction) and move the revision on by one, as writes to other keys
   * do in a real etcd: every watch from a revision seen so far gets 410, a fresh list does not.
   */
  compact(): void {
    this.#compacted = ++this.#rv;
    this.#history.length = 0;
  }

  /**
   * The objects of `res` as they were at revision `rv` (what etcd serves for an exact read), by
   * undoing the kept events after it; undefined when compaction took what that needs.
   */
  listAt(res: Resource, ns: string | undefined, rv: number): Obj[] | undefined {
    if (rv < this.#compacted) return undefined;
    const key = (o: Obj) => objKey(o.metadata.namespace, o.metadata.name ?? "");
    const at = new Map(this.list(res, ns).map((o) => [key(o), o]));
    for (const e of [...this.#history].reverse()) {
      if (e.rv <= rv) break;
      if (e.res !== res || (ns !== undefined && e.object.metadata.namespace !== ns)) continue;
      if (e.type === "ADDED") at.delete(key(e.object));
      else if (e.prev !== undefined) at.set(key(e.prev), structuredClone(e.prev));
    }
    return [...at.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, o]) => o);
  }

  subscribe(fn: (e: StoreEvent) => void): () => void {
    this.#listeners.add(fn);
    return () => this.#listeners.delete(fn);
  }
}
