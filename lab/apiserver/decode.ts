// Decoding a JSON object into its kind's API type, as kube-apiserver's decoders do: fields the
// type does not have are dropped (and reported, for fieldValidation Warn/Strict), nulls become
// zero values (gone), and a value of the wrong type fails with Go's text. Two flavours of error
// text, as in the real server: the JSON decoder's (create/update bodies) and the unstructured
// converter's (patched objects).
import type { Resource } from "./resources.ts";
import { schemaOf, type Schema } from "./schema.ts";

type Any = Record<string, unknown>;
const isMap = (v: unknown): v is Any => typeof v === "object" && v !== null && !Array.isArray(v);

export interface Decoded {
  /** `unknown field "spec.foo"`, in the order met */
  unknown: string[];
  /** the first type error, in the flavour asked for */
  error?: string;
}

function goType(s: Schema): string {
  switch (s.t) {
    case "string":
      return "string";
    case "integer":
      return "int32";
    case "number":
      return "float64";
    case "boolean":
      return "bool";
    case "object":
      return `v1.${s.struct}`;
    case "array":
      return `[]${goType(s.items)}`;
    case "map":
      return `map[string]${goType(s.values)}`;
    case "intOrString":
      return "intstr.IntOrString";
    case "quantity":
      return "resource.Quantity";
    case "any":
      return "interface {}";
  }
}

function jsonType(v: unknown): string {
  if (Array.isArray(v)) return "array";
  if (v === null) return "null";
  if (typeof v === "boolean") return "bool";
  if (typeof v === "object") return "object";
  return typeof v;
}

/** The Go kind the unstructured converter names for a JSON value. */
function goKind(v: unknown): string {
  if (Array.isArray(v)) return "slice";
  if (typeof v === "object") return "map";
  if (typeof v === "number") return Number.isInteger(v) ? "int64" : "float64";
  return typeof v === "boolean" ? "bool" : "string";
}

function mismatch(s: Schema, v: unknown): boolean {
  switch (s.t) {
    case "string":
      return typeof v !== "string";
    case "integer":
      return typeof v !== "number" || !Number.isInteger(v);
    case "number":
      return typeof v !== "number";
    case "boolean":
      return typeof v !== "boolean";
    case "object":
    case "map":
      return !isMap(v);
    case "array":
      return !Array.isArray(v);
    case "intOrString":
    case "quantity":
      return typeof v !== "string" && typeof v !== "number";
    case "any":
      return false;
  }
}

interface Walk {
  out: Decoded;
  flavour: "json" | "unstructured";
}

function typeError(w: Walk, s: Schema, v: unknown, struct: string, goPath: string): void {
  if (w.out.error !== undefined) return;
  // IntOrString decodes itself (UnmarshalJSON) in both paths
  if (s.t === "intOrString") {
    w.out.error = `json: cannot unmarshal ${jsonType(v)} into Go value of type int32`;
    return;
  }
  if (w.flavour === "unstructured") {
    const kind = goKind(v);
    w.out.error =
      s.t === "object"
        ? `cannot restore struct from: ${kind}`
        : s.t === "array"
          ? `cannot restore slice from ${kind}`
          : s.t === "map"
            ? `cannot restore map from ${kind}`
            : `cannot convert ${kind} to ${goType(s)}`;
    return;
  }
  const what = typeof v === "number" ? `number ${String(v)}` : jsonType(v);
  w.out.error = `json: cannot unmarshal ${what} into Go struct field ${struct}.${goPath} of type ${goType(s)}`;
}

function walk(w: Walk, s: Schema, v: unknown, path: string, struct: string, goPath: string): void {
  if (mismatch(s, v)) return typeError(w, s, v, struct, goPath);
  if (s.t === "array") {
    const list = v as unknown[];
    list.forEach((x, i) => {
      // a null item decodes to the item type's zero value
      if (x === null || x === undefined) list[i] = s.items.t === "object" ? {} : x;
      else walk(w, s.items, x, `${path}[${i}]`, struct, goPath);
    });
  } else if (s.t === "map") {
    for (const [k, x] of Object.entries(v as Any)) {
      if (x !== null && x !== undefined)
        walk(w, s.values, x, path === "" ? k : `${path}.${k}`, struct, goPath);
    }
  } else if (s.t === "object") {
    const props = s.props();
    const obj = v as Any;
    for (const [k, x] of Object.entries(obj)) {
      const at = path === "" ? k : `${path}.${k}`;
      const sub = props.get(k);
      if (sub === undefined) {
        w.out.unknown.push(`unknown field ${JSON.stringify(at)}`);
        delete obj[k];
      } else if (x === null || x === undefined) delete obj[k];
      else walk(w, sub, x, at, s.struct, goPath === "" ? k : `${goPath}.${k}`);
    }
  }
}

/**
 * Decodes `obj` in place into the resource's type: prunes unknown fields and nulls, reports them
 * and the first type error. Kinds without a schema are left as they are.
 */
export function decodeTyped(res: Resource, obj: Any, flavour: Walk["flavour"]): Decoded {
  const out: Decoded = { unknown: [] };
  const s = schemaOf(res.group, res.version, res.kind);
  if (s !== undefined) walk({ out, flavour }, s, obj, "", s.t === "object" ? s.struct : res.kind, "");
  return out;
}

/** Drops what the type does not have, silently (a mutating webhook's patch, a stored object). */
export function prune(res: Resource, obj: Any): void {
  decodeTyped(res, obj, "json");
}

/** Go's %+v of a decoded JSON value, as a field.Invalid of a patch prints it. */
export function goValue(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(goValue).join(" ")}]`;
  if (isMap(v))
    return `map[${Object.keys(v)
      .sort()
      .map((k) => `${k}:${goValue(v[k])}`)
      .join(" ")}]`;
  if (v === null || v === undefined) return "<nil>";
  return typeof v === "string" ? v : JSON.stringify(v);
}
