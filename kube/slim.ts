// What the syncer's caches keep of each watched object: the fields the syncer reads, nothing else.
// Objects as the API server sends them carry much the syncer never reads (metadata.managedFields,
// often larger than the rest of the object; kubectl's last-applied-configuration annotation, a
// second copy of the object; ownerReferences, generation, each endpoint's zone, hostname and the
// Pod's uid), and the informer caches hold every Service and EndpointSlice of the cluster for
// the syncer's lifetime. Slimmed once, where they enter (sources.ts: the LIST items and every
// watch event), before client-node's ListWatch stores them.
//
// Kept: metadata.name, namespace, uid, resourceVersion (the watch resumes from it, and the
// relist diff compares it), creationTimestamp, deletionTimestamp, labels, annotations (a
// Service's contract lives there; of a slice's only the trigger time is read); a Service's whole
// spec and status; a slice's addressType, ports and per endpoint addresses, conditions,
// nodeName, targetRef's kind and name, hints. Repeated small values (conditions, ports, node
// names, kinds) are shared between objects instead of held once per endpoint.
import type { V1Endpoints, V1EndpointSlice, V1ObjectMeta, V1Service } from "@kubernetes/client-node";
import { TRIGGER_TIME_ANNOTATION } from "./labels.ts";

/** kubectl's copy of the last applied object: never read by the syncer, as large as the object. */
export const LAST_APPLIED_ANNOTATION = "kubectl.kubernetes.io/last-applied-configuration";

type Rec = Record<string, unknown>;
const isRecord = (v: unknown): v is Rec => typeof v === "object" && v !== null && !Array.isArray(v);

/**
 * One shared instance per distinct small value. Bounded: past `max` distinct values new ones are
 * returned as they are (still correct, only not shared), so hostile input cannot grow it.
 */
export class Interner {
  readonly #by = new Map<string, unknown>();
  readonly #max: number;
  constructor(max = 20_000) {
    this.#max = max;
  }
  get size(): number {
    return this.#by.size;
  }
  string<T>(v: T): T {
    return typeof v === "string" ? (this.#shared(`s${v}`, v) as T) : v;
  }
  /** A frozen shared copy of a JSON-like value (compared by its JSON text). */
  value<T>(v: T): T {
    if (v === undefined || v === null || typeof v !== "object") return this.string(v);
    return this.#shared(`j${JSON.stringify(v)}`, v, true) as T;
  }
  #shared(key: string, v: unknown, freeze = false): unknown {
    const seen = this.#by.get(key);
    if (seen !== undefined) return seen;
    if (this.#by.size >= this.#max) return v;
    this.#by.set(key, freeze ? deepFreeze(v) : v);
    return v;
  }
}

function deepFreeze<T>(v: T): T {
  if (typeof v === "object" && v !== null) {
    for (const x of Object.values(v)) deepFreeze(x);
    Object.freeze(v);
  }
  return v;
}

/**
 * A plain object of the given fields that are defined. Built by assignment into a fresh `{}`
 * (room for four fields inside the object), not by spreading: V8 gives spread-built objects a
 * separate, larger property store.
 */
function fields(from: Rec, keys: readonly string[], map: (key: string, v: unknown) => unknown = (_, v) => v) {
  const out: Rec = {};
  for (const k of keys) {
    const v = from[k] === undefined ? undefined : map(k, from[k]);
    if (v !== undefined) out[k] = v;
  }
  return out;
}

/**
 * A compact deep copy: plain objects of the same fields, arrays of their exact length. The
 * LIST path's objects (client-node's ObjectSerializer) grow every array by push from empty, and
 * V8 then reserves 17 slots: a one-address endpoint's `addresses` held 152 bytes of slots.
 */
export function compact<T>(v: T): T {
  if (Array.isArray(v)) return v.map(compact) as T;
  if (!isRecord(v) || v instanceof Date) return v;
  const out: Rec = {};
  for (const k of Object.keys(v)) out[k] = compact(v[k]);
  return out as T;
}

const META = ["name", "namespace", "uid", "resourceVersion", "creationTimestamp", "deletionTimestamp"];

function slimMeta(meta: unknown, keepAnnotation: (key: string) => boolean): V1ObjectMeta {
  if (!isRecord(meta)) return {};
  const out = fields(meta, META);
  if (isRecord(meta.labels)) out.labels = compact(meta.labels);
  if (isRecord(meta.annotations)) {
    const kept = Object.keys(meta.annotations).filter(keepAnnotation);
    if (kept.length > 0) out.annotations = fields(meta.annotations, kept);
  }
  return out;
}

/** apiVersion, kind, metadata: the head of every slim object. */
const head = (o: Rec, keepAnnotation: (key: string) => boolean): Rec => {
  const out = fields(o, ["apiVersion", "kind"]);
  out.metadata = slimMeta(o.metadata, keepAnnotation);
  return out;
};

/** A Service: its whole spec and status (desired.ts reads most of them), slim metadata. */
export function slimService(s: V1Service): V1Service {
  if (!isRecord(s)) return s;
  const out = head(s, (k) => k !== LAST_APPLIED_ANNOTATION);
  if (s.spec !== undefined) out.spec = compact(s.spec);
  if (s.status !== undefined) out.status = compact(s.status);
  return out;
}

const slimRef = (ref: unknown, pool: Interner): unknown =>
  isRecord(ref) ? fields(ref, ["kind", "name"], (k, v) => (k === "kind" ? pool.string(v) : v)) : undefined;

/** An EndpointSlice: what syncer/endpoints.ts reads, small values shared through `pool`. */
export function slimEndpointSlice(s: V1EndpointSlice, pool: Interner): V1EndpointSlice {
  if (!isRecord(s)) return s;
  const endpoint = (e: unknown) =>
    isRecord(e)
      ? fields(e, ["addresses", "conditions", "nodeName", "targetRef", "hints"], (k, v) =>
          k === "addresses"
            ? compact(v)
            : k === "nodeName"
              ? pool.string(v)
              : k === "targetRef"
                ? slimRef(v, pool)
                : pool.value(compact(v)),
        )
      : e;
  const out = head(s, (k) => k === TRIGGER_TIME_ANNOTATION);
  if (s.addressType !== undefined) out.addressType = pool.string(s.addressType);
  if (s.endpoints !== undefined)
    out.endpoints = Array.isArray(s.endpoints) ? s.endpoints.map(endpoint) : s.endpoints;
  if (s.ports !== undefined) out.ports = pool.value(compact(s.ports));
  return out as unknown as V1EndpointSlice;
}

/** A v1 Endpoints object: subsets as they are (addresses' targetRef slimmed), slim metadata. */
export function slimEndpoints(o: V1Endpoints, pool: Interner): V1Endpoints {
  if (!isRecord(o)) return o;
  const address = (a: unknown) =>
    isRecord(a)
      ? fields(a, ["ip", "nodeName", "targetRef"], (k, v) =>
          k === "nodeName" ? pool.string(v) : k === "targetRef" ? slimRef(v, pool) : v,
        )
      : a;
  const addresses = (v: unknown) => (Array.isArray(v) ? v.map(address) : v);
  const subset = (x: unknown) =>
    isRecord(x)
      ? fields(x, ["addresses", "notReadyAddresses", "ports"], (k, v) =>
          k === "ports" ? pool.value(compact(v)) : addresses(v),
        )
      : x;
  const out = head(o, (k) => k === TRIGGER_TIME_ANNOTATION);
  if (o.subsets !== undefined) out.subsets = Array.isArray(o.subsets) ? o.subsets.map(subset) : o.subsets;
  return out;
}
