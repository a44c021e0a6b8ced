// Field paths as structured-merge-diff names them: ".spec.ports[port=80,protocol=\"TCP\"].targetPort".
// A field set maps each path (nodes and leaves) to its segments; it converts to the FieldsV1 JSON
// that appears in metadata.managedFields ("f:spec": {"f:ports": {"k:{...}": {".": {}}}}).
import { mergeKey } from "./patch.ts";

export type Seg = { f: string } | { k: Record<string, unknown> } | { v: unknown };
export interface FieldPath {
  segs: Seg[];
  leaf: boolean;
}
export type FieldSet = Map<string, FieldPath>;

type Any = Record<string, unknown>;
const isMap = (v: unknown): v is Any => typeof v === "object" && v !== null && !Array.isArray(v);

// x-kubernetes-list-map-keys where they differ from the SMP merge key
const LIST_MAP_KEYS: Record<string, string[]> = {
  "spec.ports": ["port", "protocol"],
  "spec.containers.ports": ["containerPort", "protocol"],
  "spec.initContainers.ports": ["containerPort", "protocol"],
};

/** undefined: atomic list; []: set of scalars; else the keys identifying an item */
export function listKeys(kind: string, dotted: string): string[] | undefined {
  const k = mergeKey(kind, dotted);
  if (k === undefined) return undefined;
  if (k === "") return [];
  return LIST_MAP_KEYS[dotted] ?? [k];
}

// key fields with a schema default: an applied port without protocol is keyed as TCP
const KEY_DEFAULTS: Any = { protocol: "TCP" };
const keyValue = (item: Any, k: string): unknown => item[k] ?? KEY_DEFAULTS[k];

function itemKey(keys: string[], item: Any): Any {
  const k = keys.filter((x) => x in item || x in KEY_DEFAULTS).sort();
  return Object.fromEntries(k.map((x) => [x, keyValue(item, x)]));
}

export function format(segs: Seg[]): string {
  return segs
    .map((s) => {
      if ("f" in s) return `.${s.f}`;
      if ("k" in s)
        return `[${Object.entries(s.k)
          .map(([k, v]) => `${k}=${JSON.stringify(v)}`)
          .join(",")}]`;
      return `[=${JSON.stringify(s.v)}]`;
    })
    .join("");
}

function walk(kind: string, v: unknown, segs: Seg[], dotted: string, out: FieldSet): void {
  const add = (leaf: boolean) => {
    out.set(format(segs), { segs, leaf });
  };
  if (isMap(v)) {
    if (segs.length > 0) add(false);
    for (const [k, x] of Object.entries(v))
      walk(kind, x, [...segs, { f: k }], dotted === "" ? k : `${dotted}.${k}`, out);
    return;
  }
  const keys = Array.isArray(v) ? listKeys(kind, dotted) : undefined;
  if (!Array.isArray(v) || keys === undefined) {
    add(true);
    return;
  }
  add(false);
  for (const item of v as unknown[]) {
    if (keys.length === 0) {
      const s = [...segs, { v: item }];
      out.set(format(s), { segs: s, leaf: true });
    } else if (isMap(item)) {
      walk(kind, item, [...segs, { k: itemKey(keys, item) }], dotted, out);
    }
  }
}

/** The fields an object sets: metadata labels/annotations/finalizers/ownerReferences and the body. */
export function fieldsOf(kind: string, obj: Any, subresource: string): FieldSet {
  const out: FieldSet = new Map();
  const meta = (obj.metadata ?? {}) as Any;
  const picked: Any = {};
  for (const k of ["labels", "annotations", "finalizers", "ownerReferences"])
    if (meta[k] !== undefined) picked[k] = meta[k];
  if (Object.keys(picked).length > 0) walk(kind, { metadata: picked }, [], "", out);
  for (const [k, v] of Object.entries(obj)) {
    if (k === "metadata" || k === "apiVersion" || k === "kind") continue;
    if ((k === "status") !== (subresource === "status")) continue;
    walk(kind, v, [{ f: k }], k, out);
  }
  return out;
}

function matchItem(item: unknown, key: Record<string, unknown>): boolean {
  return (
    isMap(item) &&
    Object.entries(key).every(([k, v]) => JSON.stringify(keyValue(item, k)) === JSON.stringify(v))
  );
}

export function getAt(obj: unknown, segs: Seg[]): unknown {
  let cur = obj;
  for (const s of segs) {
    if ("f" in s) cur = isMap(cur) ? cur[s.f] : undefined;
    else if ("k" in s) cur = Array.isArray(cur) ? cur.find((i) => matchItem(i, s.k)) : undefined;
    else
      cur =
        Array.isArray(cur) && cur.some((i) => JSON.stringify(i) === JSON.stringify(s.v)) ? s.v : undefined;
    if (cur === undefined) return undefined;
  }
  return cur;
}

export function deleteAt(obj: unknown, segs: Seg[]): void {
  const last = segs.at(-1);
  const parent = getAt(obj, segs.slice(0, -1));
  if (last === undefined || parent === undefined) return;
  if ("f" in last && isMap(parent)) delete parent[last.f];
  else if (Array.isArray(parent)) {
    const idx = parent.findIndex((i) =>
      "k" in last ? matchItem(i, last.k) : JSON.stringify(i) === JSON.stringify((last as { v: unknown }).v),
    );
    if (idx !== -1) parent.splice(idx, 1);
  }
}

/**
 * FieldsV1 of a set. `applied`: an Apply entry, which owns the leaves and the items of keyed
 * lists but not the maps and lists around them (structured-merge-diff's ToFieldSet of the
 * applied configuration), so only a list item carries "." there; an Update entry owns a map or
 * list it added as a whole.
 */
export function toFieldsV1(set: FieldSet, applied = false): Any {
  const root: Any = {};
  for (const { segs, leaf } of set.values()) {
    let cur = root;
    for (const s of segs) {
      const name = "f" in s ? `f:${s.f}` : "k" in s ? `k:${JSON.stringify(s.k)}` : `v:${JSON.stringify(s.v)}`;
      cur = (cur[name] ??= {}) as Any;
    }
    if (!leaf && (!applied || "k" in (segs.at(-1) ?? {}))) cur["."] = {};
  }
  return root;
}

/** Merges an applied configuration into the live object: maps and keyed lists merge, the rest replaces. */
export function mergeApplied(kind: string, dotted: string, live: unknown, applied: unknown): unknown {
  if (isMap(applied)) {
    const out: Any = isMap(live) ? { ...live } : {};
    for (const [k, v] of Object.entries(applied))
      out[k] = mergeApplied(kind, dotted === "" ? k : `${dotted}.${k}`, out[k], v);
    return out;
  }
  const keys = Array.isArray(applied) ? listKeys(kind, dotted) : undefined;
  if (!Array.isArray(applied) || keys === undefined || !Array.isArray(live)) return structuredClone(applied);
  const out = [...(live as unknown[])];
  for (const item of applied) {
    const idx =
      keys.length === 0
        ? out.findIndex((x) => JSON.stringify(x) === JSON.stringify(item))
        : out.findIndex(
            (x) =>
              isMap(item) &&
              keys.every((k) => JSON.stringify(keyValue(x as Any, k)) === JSON.stringify(keyValue(item, k))),
          );
    if (idx === -1) out.push(structuredClone(item));
    else out[idx] = mergeApplied(kind, dotted, out[idx], item);
  }
  return out;
}
