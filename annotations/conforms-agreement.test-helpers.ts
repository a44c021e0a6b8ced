// The agreement of conforms() with zod, for the tests of each schema it is used on
// (annotations/conforms.test.ts: Service; webhook/review.test.ts: AdmissionReview): on every value
// one member away from a full one, conforms(v) holds exactly when zod accepts v with an equal result.
import assert from "node:assert/strict";
import type { z } from "zod";
import { conforms } from "./conforms.ts";

/** Every value reachable by replacing one member (at any depth) of `base` with one of `by`, or removing it. */
export function variants(base: unknown, by: readonly unknown[]): unknown[] {
  const out: unknown[] = [base];
  const walk = (value: unknown, rebuild: (v: unknown) => unknown) => {
    if (value === null || typeof value !== "object") return;
    const entries = Object.entries(value);
    for (const [k, child] of entries) {
      const replaceWith = (v: unknown) => {
        if (Array.isArray(value))
          return rebuild((value as unknown[]).map((x, i) => (String(i) === k ? v : x)));
        const copy: Record<string, unknown> = { ...(value as Record<string, unknown>) };
        if (v === REMOVE) delete copy[k];
        else copy[k] = v;
        return rebuild(copy);
      };
      for (const v of [...by, REMOVE]) out.push(replaceWith(v));
      walk(child, replaceWith);
    }
  };
  walk(base, (v) => v);
  return out;
}
const REMOVE = Symbol("remove");

export const REPLACEMENTS = [
  undefined,
  null,
  0,
  80,
  -1,
  1.5,
  2 ** 60,
  "",
  "x",
  "TCP",
  "SCTP",
  "ClientIP",
  "Local",
  "LoadBalancer",
  "Service",
  true,
  [],
  ["x"],
  [1],
  {},
  { ip: "10.0.0.1" },
  { a: 1 },
  JSON.parse('{"__proto__": {"a": "x"}}') as unknown,
];

/** conforms(v) exactly when zod accepts v and returns something equal to it. */
export function agrees(schema: z.ZodType, values: unknown[]): { fast: number; zodOnly: number } {
  const isIt = conforms(schema);
  let fast = 0;
  let zodOnly = 0;
  for (const v of values) {
    const r = schema.safeParse(v);
    let same = false;
    if (r.success) {
      try {
        assert.deepStrictEqual(r.data, v);
        same = true;
      } catch {
        same = false;
      }
    }
    assert.equal(isIt(v), same, `conforms and zod disagree on ${JSON.stringify(v)}`);
    if (same) fast++;
    else zodOnly++;
  }
  return { fast, zodOnly };
}
