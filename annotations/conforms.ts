// Whether a value already is what a zod schema's parse would return, checked without zod building
// the copy. zod's parse walks the whole object and copies every object, array and record it
// passes (a Service's review: ~1.7 µs and most of its allocation, bench/webhook.ts --profile),
// though a Service that conforms comes out equal to what went in. So the parsers ask this first
// and use the value as it is; anything it does not accept goes to zod, which decides and words the
// refusal. Of JSON data (what JSON.parse or a YAML parser gives: no symbols, no hidden properties)
// it accepts exactly what zod accepts with an equal result (annotations/conforms.test.ts),
// and is derived from the schema itself, so the two cannot drift apart: a schema feature it does
// not know (a transform, a refinement, a stripping object) fails at module load, not at run time.
// It reads zod 4's schema definitions (`_zod.def`), which are not zod's public API, so
// package.json holds zod to one minor version (~4.6): a new minor is taken on purpose, with
// annotations/conforms.test.ts run against it.
import type { z } from "zod";

type Check = (value: unknown) => boolean;

interface Def {
  type: string;
  checks?: { _zod: { def: { check: string; minimum?: number; format?: string } } }[];
  shape?: Record<string, z.ZodType>;
  catchall?: z.ZodType;
  innerType?: z.ZodType;
  element?: z.ZodType;
  keyType?: z.ZodType;
  valueType?: z.ZodType;
  options?: z.ZodType[];
  entries?: Record<string, string | number>;
  values?: unknown[];
}

const defOf = (schema: z.ZodType): Def => (schema as unknown as { _zod: { def: Def } })._zod.def;

const isObject = (v: unknown): v is Record<PropertyKey, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v);

/** zod's record wants a plain object (JSON's), not any object. */
const isPlainObject = (v: unknown): v is Record<PropertyKey, unknown> => {
  if (!isObject(v)) return false;
  const proto = Object.getPrototypeOf(v) as unknown;
  return proto === Object.prototype || proto === null;
};

/** `(value) => value is z.output<S>`, true only when `schema.parse(value)` would succeed and equal `value`. */
export function conforms<S extends z.ZodType>(schema: S): (value: unknown) => value is z.output<S> {
  return check(schema) as (value: unknown) => value is z.output<S>;
}

function check(schema: z.ZodType): Check {
  const def = defOf(schema);
  const unknownCheck = (def.checks ?? []).find((c) => !known(def.type, c._zod.def));
  if (unknownCheck)
    throw new Error(`conforms: ${def.type} check "${unknownCheck._zod.def.check}" unsupported`);
  switch (def.type) {
    case "unknown":
      return () => true;
    case "boolean":
      return (v) => typeof v === "boolean";
    case "string": {
      const min = Math.max(0, ...(def.checks ?? []).map((c) => c._zod.def.minimum ?? 0));
      return (v) => typeof v === "string" && v.length >= min;
    }
    case "number":
      return def.checks?.length
        ? (v) => typeof v === "number" && Number.isSafeInteger(v)
        : (v) => typeof v === "number" && Number.isFinite(v);
    case "literal":
    case "enum": {
      const allowed = new Set(def.type === "literal" ? def.values : Object.values(def.entries!));
      return (v) => allowed.has(v);
    }
    case "optional": {
      const inner = check(def.innerType!);
      return (v) => v === undefined || inner(v);
    }
    case "nullable": {
      const inner = check(def.innerType!);
      return (v) => v === null || inner(v);
    }
    case "default": {
      // Where the default would be filled in, zod's result differs from the input: zod decides.
      const inner = check(def.innerType!);
      return (v) => v !== undefined && inner(v);
    }
    case "union": {
      const options = def.options!.map(check);
      return (v) => options.some((o) => o(v));
    }
    case "array": {
      const element = check(def.element!);
      return (v) => Array.isArray(v) && v.every(element);
    }
    case "record": {
      if (defOf(def.keyType!).type !== "string" || defOf(def.keyType!).checks?.length)
        throw new Error("conforms: only records keyed by plain strings are supported");
      // Of unknown values there is nothing to check but the object: no walk over its keys.
      if (defOf(def.valueType!).type === "unknown")
        return (v) => isPlainObject(v) && !Object.hasOwn(v, "__proto__");
      const value = check(def.valueType!);
      return (v) => {
        if (!isPlainObject(v)) return false;
        for (const k in v) if (k === "__proto__" || !value(v[k])) return false;
        return true;
      };
    }
    case "object": {
      // Only loose objects: a stripping or strict one's result is not its input.
      if (def.catchall === undefined || defOf(def.catchall).type !== "unknown")
        throw new Error("conforms: only z.looseObject is supported");
      const fields = Object.entries(def.shape!).map(([k, s]) => {
        const field = check(s);
        // A member that is not optional must be there, even when its schema takes undefined (z.unknown()).
        const present =
          (s as unknown as { _zod: { optin?: string } })._zod.optin !== "optional" && field(undefined);
        return [k, field, present] as const;
      });
      // zod leaves a JSON `"__proto__"` key out of its result: such an object is zod's to parse.
      return (v) => {
        if (!isObject(v) || Object.hasOwn(v, "__proto__")) return false;
        for (const [k, field, present] of fields) if (!field(v[k]) || (present && !(k in v))) return false;
        return true;
      };
    }
    default:
      throw new Error(`conforms: zod type "${def.type}" unsupported`);
  }
}

function known(type: string, c: { check: string; minimum?: number; format?: string }): boolean {
  if (type === "string") return c.check === "min_length";
  if (type === "number") return c.check === "number_format" && c.format === "safeint";
  return false;
}
