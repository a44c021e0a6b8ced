// JSON Patch (RFC 6902), JSON merge patch (RFC 7386) and strategic merge patch with the merge
// keys of the real types (patchMergeKey/patchStrategy tags) for the kinds served here. The SMP
// directives kubectl emits are honoured: $patch (replace/delete), $retainKeys,
// $setElementOrder/<list>, $deleteFromPrimitiveList/<list>.
import fastJsonPatch, { type Operation } from "fast-json-patch";
import { badRequest, failure } from "./status.ts";

type Any = Record<string, unknown>;
const isMap = (v: unknown): v is Any => typeof v === "object" && v !== null && !Array.isArray(v);

/** Marks a list of scalars merged as a set (patchStrategy:"merge" without a key, e.g. finalizers). */
const SET = "";
const COMMON: Record<string, string> = { "metadata.ownerReferences": "uid", "metadata.finalizers": SET };
const CONTAINER_LISTS = ["spec.containers", "spec.initContainers", "spec.ephemeralContainers"];
const POD: Record<string, string> = {
  "spec.volumes": "name",
  "spec.imagePullSecrets": "name",
  "spec.hostAliases": "ip",
  "status.conditions": "type",
  ...Object.fromEntries(
    CONTAINER_LISTS.flatMap((c) => [
      [c, "name"],
      [`${c}.ports`, "containerPort"],
      [`${c}.env`, "name"],
      [`${c}.volumeMounts`, "mountPath"],
    ]),
  ),
};
/** Deployments and ReplicaSets carry a Pod spec at spec.template.spec */
const WORKLOAD: Record<string, string> = {
  ...Object.fromEntries(
    Object.entries(POD)
      .filter(([k]) => k.startsWith("spec."))
      .map(([k, v]) => [`spec.template.${k}`, v]),
  ),
  "status.conditions": "type",
};
export const MERGE_KEYS: Record<string, Record<string, string>> = {
  Service: { "spec.ports": "port", "status.conditions": "type" },
  Pod: POD,
  Deployment: WORKLOAD,
  ReplicaSet: WORKLOAD,
  Node: { "status.conditions": "type", "status.addresses": "type", "status.images": SET },
  MutatingWebhookConfiguration: { webhooks: "name" },
  ValidatingWebhookConfiguration: { webhooks: "name" },
};

export function mergeKey(kind: string, path: string): string | undefined {
  return COMMON[path] ?? MERGE_KEYS[kind]?.[path];
}

export function applyJsonPatch(doc: Any, body: unknown): Any {
  if (!Array.isArray(body))
    throw badRequest("json: cannot unmarshal object into Go value of type jsonpatch.Patch");
  try {
    return fastJsonPatch.applyPatch(structuredClone(doc), body as Operation[], true, false).newDocument;
  } catch (err) {
    const text = err instanceof Error ? err.message.split("\n")[0] : String(err);
    throw failure(422, "Invalid", "the server rejected our request due to an error in our request", {
      causes: [{ reason: "UnexpectedServerResponse", message: text }],
    });
  }
}

export function applyMergePatch(doc: unknown, patch: unknown): unknown {
  if (!isMap(patch)) return structuredClone(patch);
  const out: Any = isMap(doc) ? structuredClone(doc) : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else out[k] = applyMergePatch(out[k], v);
  }
  return out;
}

function stripDirectives(v: unknown): unknown {
  if (Array.isArray(v))
    return v.filter((x) => !(isMap(x) && Object.keys(x).length === 1 && "$patch" in x)).map(stripDirectives);
  if (!isMap(v)) return v;
  const out: Any = {};
  for (const [k, x] of Object.entries(v)) if (!k.startsWith("$")) out[k] = stripDirectives(x);
  return out;
}

function mergeList(kind: string, path: string, key: string, original: unknown, patch: unknown[]): unknown[] {
  if (patch.some((x) => isMap(x) && x.$patch === "replace")) return stripDirectives(patch) as unknown[];
  const base: unknown[] = Array.isArray(original) ? structuredClone(original as unknown[]) : [];
  if (key === SET) return [...base, ...patch.filter((x) => !base.includes(x))];
  for (const item of patch) {
    if (!isMap(item)) continue;
    const idx = base.findIndex((b) => isMap(b) && b[key] === item[key]);
    if (item.$patch === "delete") {
      if (idx !== -1) base.splice(idx, 1);
    } else if (idx === -1) base.push(stripDirectives(item));
    else base[idx] = strategicMerge(kind, path, base[idx], item);
  }
  return base;
}

function reorder(list: unknown[], order: unknown[], key: string | undefined): unknown[] {
  const id = (x: unknown) => (key !== undefined && key !== SET && isMap(x) ? x[key] : x);
  const pos = new Map(order.map((o, i) => [id(o), i]));
  const known = list
    .filter((x) => pos.has(id(x)))
    .sort((a, b) => (pos.get(id(a)) ?? 0) - (pos.get(id(b)) ?? 0));
  return [...known, ...list.filter((x) => !pos.has(id(x)))];
}

export function strategicMerge(kind: string, path: string, original: unknown, patch: unknown): unknown {
  if (!isMap(patch)) return structuredClone(patch);
  if (patch.$patch === "replace") return stripDirectives(patch);
  if (patch.$patch === "delete") return undefined;
  let out: Any = isMap(original) ? structuredClone(original) : {};
  const at = (k: string) => (path === "" ? k : `${path}.${k}`);
  if (Array.isArray(patch.$retainKeys)) {
    const keep = new Set(patch.$retainKeys as string[]);
    out = Object.fromEntries(Object.entries(out).filter(([k]) => keep.has(k)));
  }
  const orders: [string, unknown[]][] = [];
  for (const [k, v] of Object.entries(patch)) {
    if (k === "$patch" || k === "$retainKeys") continue;
    if (k.startsWith("$setElementOrder/")) {
      if (Array.isArray(v)) orders.push([k.slice("$setElementOrder/".length), v]);
      continue;
    }
    if (k.startsWith("$deleteFromPrimitiveList/")) {
      const field = k.slice("$deleteFromPrimitiveList/".length);
      const list = out[field];
      if (Array.isArray(list) && Array.isArray(v)) out[field] = list.filter((x) => !v.includes(x));
      continue;
    }
    if (k.startsWith("$")) throw badRequest(`unknown patch directive ${JSON.stringify(k)}`);
    if (v === null) {
      delete out[k];
      continue;
    }
    const key = mergeKey(kind, at(k));
    if (Array.isArray(v))
      out[k] = key === undefined ? stripDirectives(v) : mergeList(kind, at(k), key, out[k], v);
    else if (isMap(v)) {
      const merged = strategicMerge(kind, at(k), out[k], v);
      if (merged === undefined) delete out[k];
      else out[k] = merged;
    } else out[k] = v;
  }
  for (const [field, order] of orders) {
    const list = out[field];
    if (Array.isArray(list)) out[field] = reorder(list, order, mergeKey(kind, at(field)));
  }
  return out;
}
