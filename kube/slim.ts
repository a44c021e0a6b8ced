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

/** `{ key: value }` when value is defined, else `{}`: keeps absent fields absent. */
const some = (key: string, value: unknown): Rec => (value === undefined ? {} : { [key]: value });

function slimMeta(meta: unknown, keepAnnotation: (key: string) => boolean): V1ObjectMeta {
  if (!isRecord(meta)) return {};
  const annotations = isRecord(meta.annotations)
    ? Object.fromEntries(Object.entries(meta.annotations).filter(([k]) => keepAnnotation(k)))
    : undefined;
  return {
    ...some("name", meta.name),
    ...some("namespace", meta.namespace),
    ...some("uid", meta.uid),
    ...some("resourceVersion", meta.resourceVersion),
    ...some("creationTimestamp", meta.creationTimestamp),
    ...some("deletionTimestamp", meta.deletionTimestamp),
    ...some("labels", meta.labels),
    ...(annotations && Object.keys(annotations).length > 0 ? { annotations } : {}),
  } as V1ObjectMeta;
}

const typeMeta = (o: Rec): Rec => ({ ...some("apiVersion", o.apiVersion), ...some("kind", o.kind) });

/** A Service: its whole spec and status (desired.ts reads most of them), slim metadata. */
export function slimService(s: V1Service): V1Service {
  if (!isRecord(s)) return s;
  return {
    ...typeMeta(s),
    metadata: slimMeta(s.metadata, (k) => k !== LAST_APPLIED_ANNOTATION),
    ...some("spec", s.spec),
    ...some("status", s.status),
  };
}

const slimRef = (ref: unknown, pool: Interner): Rec | undefined =>
  isRecord(ref) ? { ...some("kind", pool.string(ref.kind)), ...some("name", ref.name) } : undefined;

/** An EndpointSlice: what syncer/endpoints.ts reads, small values shared through `pool`. */
export function slimEndpointSlice(s: V1EndpointSlice, pool: Interner): V1EndpointSlice {
  if (!isRecord(s)) return s;
  const endpoints = Array.isArray(s.endpoints)
    ? s.endpoints.map((e: unknown) =>
        isRecord(e)
          ? {
              ...some("addresses", e.addresses),
              ...some("conditions", pool.value(e.conditions)),
              ...some("nodeName", pool.string(e.nodeName)),
              ...some("targetRef", slimRef(e.targetRef, pool)),
              ...some("hints", pool.value(e.hints)),
            }
          : e,
      )
    : s.endpoints;
  return {
    ...typeMeta(s),
    metadata: slimMeta(s.metadata, (k) => k === TRIGGER_TIME_ANNOTATION),
    ...some("addressType", pool.string(s.addressType)),
    ...some("endpoints", endpoints),
    ...some("ports", pool.value(s.ports)),
  } as V1EndpointSlice;
}

/** A v1 Endpoints object: subsets as they are (addresses' targetRef slimmed), slim metadata. */
export function slimEndpoints(o: V1Endpoints, pool: Interner): V1Endpoints {
  if (!isRecord(o)) return o;
  const address = (a: unknown) =>
    isRecord(a)
      ? {
          ...some("ip", a.ip),
          ...some("nodeName", pool.string(a.nodeName)),
          ...some("targetRef", slimRef(a.targetRef, pool)),
        }
      : a;
  const subsets = Array.isArray(o.subsets)
    ? o.subsets.map((s: unknown) =>
        isRecord(s)
          ? {
              ...some("addresses", Array.isArray(s.addresses) ? s.addresses.map(address) : s.addresses),
              ...some(
                "notReadyAddresses",
                Array.isArray(s.notReadyAddresses) ? s.notReadyAddresses.map(address) : s.notReadyAddresses,
              ),
              ...some("ports", pool.value(s.ports)),
            }
          : s,
      )
    : o.subsets;
  return {
    ...typeMeta(o),
    metadata: slimMeta(o.metadata, (k) => k === TRIGGER_TIME_ANNOTATION),
    ...some("subsets", subsets),
  };
}
