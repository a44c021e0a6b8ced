// The objects the lab's Deployment and ReplicaSet controllers read, and what they share: the
// controller ownerReference, the pod-template-hash, Pod readiness. Pure.

export interface OwnerRef {
  apiVersion: string;
  kind: string;
  name: string;
  uid: string;
  controller?: boolean;
  blockOwnerDeletion?: boolean;
}

export interface ObjectMeta {
  name: string;
  namespace?: string;
  uid?: string;
  generation?: number;
  resourceVersion?: string;
  creationTimestamp?: string;
  deletionTimestamp?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  ownerReferences?: OwnerRef[];
}

export interface PodTemplate {
  metadata?: { labels?: Record<string, string>; annotations?: Record<string, string> };
  spec?: Record<string, unknown>;
}

export interface Selector {
  matchLabels?: Record<string, string>;
  matchExpressions?: { key: string; operator: string; values?: string[] }[];
}

export interface Condition {
  type: string;
  status: string;
  reason?: string;
  message?: string;
  lastUpdateTime?: string;
  lastTransitionTime?: string;
}

export interface WorkloadPod {
  metadata: ObjectMeta;
  status?: { conditions?: Condition[] };
}

export const TEMPLATE_HASH = "pod-template-hash";
export const REVISION = "deployment.kubernetes.io/revision";

export const controllerOf = (m: ObjectMeta): OwnerRef | undefined =>
  m.ownerReferences?.find((o) => o.controller === true);

export const ownerRef = (apiVersion: string, kind: string, m: ObjectMeta): OwnerRef => ({
  apiVersion,
  kind,
  name: m.name,
  uid: m.uid ?? "",
  controller: true,
  blockOwnerDeletion: true,
});

/** Objects whose controller is `kind`/`name` but not the live owner (`uid`): the garbage collector's. */
export const orphansOf = <T extends { metadata: ObjectMeta }>(
  items: readonly T[],
  kind: string,
  name: string,
  uid: string | undefined,
): T[] =>
  items.filter((x) => {
    const c = controllerOf(x.metadata);
    return c?.kind === kind && c.name === name && c.uid !== uid;
  });

/**
 * Go's zero values leave out: JSON nulls, {} and [] are the same as absent (a template's
 * `creationTimestamp: null`, the `resources: {}` kubectl sends), as Semantic.DeepEqual sees them.
 */
export function dropEmpty(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(dropEmpty);
  if (typeof v !== "object" || v === null) return v;
  const out = Object.entries(v)
    .map(([k, x]) => [k, dropEmpty(x)] as const)
    .filter(
      ([, x]) =>
        x !== null &&
        !(Array.isArray(x) && x.length === 0) &&
        !(typeof x === "object" && !Array.isArray(x) && Object.keys(x).length === 0),
    );
  return Object.fromEntries(out);
}

/** JSON with sorted keys: equal objects print equal, whatever order their keys were written in. */
export const canonical = (v: unknown): string =>
  Array.isArray(v)
    ? `[${v.map(canonical).join(",")}]`
    : typeof v === "object" && v !== null
      ? `{${Object.keys(v)
          .sort()
          .map((k) => `${JSON.stringify(k)}:${canonical((v as Record<string, unknown>)[k])}`)
          .join(",")}}`
      : JSON.stringify(v);

// rand.SafeEncodeString's alphabet: no vowels, no 0/1/3, so a hash never spells a word
const SAFE = "bcdfghjklmnpqrstvwxz2456789";

/**
 * The pod-template-hash: FNV-32a of the template (the real one hashes Go's printing of it, so
 * the values differ from a real cluster's; the shape, up to 10 safe characters, is the same).
 */
export function templateHash(template: PodTemplate, collisionCount = 0): string {
  let h = 0x811c9dc5;
  for (const b of Buffer.from(`${canonical(template)}${collisionCount > 0 ? collisionCount : ""}`)) {
    h ^= b;
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return [...String(h)].map((c) => SAFE[c.charCodeAt(0) % SAFE.length]).join("");
}

export const isReady = (p: WorkloadPod): boolean =>
  p.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True") ?? false;

/** When the Pod has been ready for minReadySeconds (ms since the epoch), or undefined if not ready. */
export function availableAt(p: WorkloadPod, minReadySeconds: number): number | undefined {
  const ready = p.status?.conditions?.find((c) => c.type === "Ready" && c.status === "True");
  if (ready === undefined) return undefined;
  const since = Date.parse(ready.lastTransitionTime ?? "");
  return (Number.isNaN(since) ? 0 : since) + minReadySeconds * 1000;
}

/** Status fields are omitempty int32s: zero is left out, as the real server serializes them. */
export function counts(fields: Record<string, number>): Record<string, number> {
  return Object.fromEntries(Object.entries(fields).filter(([, v]) => v !== 0));
}
