// fieldValidation (Ignore, Warn — the default —, Strict) applied to what a client sends, with the
// texts of the real handlers: a create/update body is decoded by the JSON decoder, a patched object
// by the unstructured converter (strategic merge) or the JSON decoder (JSON and merge patches), and
// an apply configuration by structured-merge-diff, which refuses unknown fields whatever the
// directive.
import { decodeTyped, goValue } from "./decode.ts";
import { query, type Ctx } from "./http.ts";
import { badRequest, failure, invalidOptions } from "./status.ts";
import type { Obj } from "./store.ts";
import { notSupported } from "./validation.ts";

type Directive = "Ignore" | "Warn" | "Strict";
const DIRECTIVES = ["Ignore", "Warn", "Strict"];

function directive(ctx: Ctx, optionsKind: string): Directive {
  const v = query(ctx, "fieldValidation");
  if (v === null || v === "") return "Warn";
  if (DIRECTIVES.includes(v)) return v as Directive;
  throw invalidOptions(optionsKind, [notSupported("fieldValidation", v, DIRECTIVES)]);
}

function report(ctx: Ctx, d: Directive, unknown: string[], strict: (text: string) => Error): void {
  if (unknown.length === 0 || d === "Ignore") return;
  if (d === "Strict") throw strict(`strict decoding error: ${unknown.join(", ")}`);
  ctx.warnings.push(...unknown);
}

/** A POST or PUT body: `Service in version "v1" cannot be handled as a Service: ...` (400). */
export function checkBody(ctx: Ctx, obj: Obj, optionsKind: "CreateOptions" | "UpdateOptions"): void {
  const d = directive(ctx, optionsKind);
  const { kind, version } = ctx.resource;
  const fail = (text: string) =>
    badRequest(`${kind} in version "${version}" cannot be handled as a ${kind}: ${text}`);
  const decoded = decodeTyped(ctx.resource, obj, "json");
  if (decoded.error !== undefined) throw fail(decoded.error);
  report(ctx, d, decoded.unknown, fail);
}

/** The object a JSON, merge or strategic merge patch produced. */
export function checkPatched(ctx: Ctx, obj: Obj, patch: unknown, strategic: boolean): void {
  const d = directive(ctx, "PatchOptions");
  const decoded = decodeTyped(ctx.resource, obj, strategic ? "unstructured" : "json");
  if (decoded.error !== undefined) {
    if (!strategic) throw badRequest(decoded.error);
    const value = JSON.stringify(goValue(patch));
    throw failure(422, "Invalid", ` "" is invalid: patch: Invalid value: ${value}: ${decoded.error}`, {
      causes: [
        { reason: "FieldValueInvalid", message: `Invalid value: ${value}: ${decoded.error}`, field: "patch" },
      ],
    });
  }
  report(ctx, d, strategic ? [...decoded.unknown].sort() : decoded.unknown, badRequest);
}

/** An apply configuration: unknown fields and wrong types fail in structured-merge-diff (500). */
export function checkApplied(ctx: Ctx, applied: Obj): void {
  directive(ctx, "PatchOptions");
  const copy = structuredClone(applied);
  const decoded = decodeTyped(ctx.resource, copy, "json");
  const res = ctx.resource;
  const where = `${res.namespaced ? (ctx.namespace ?? "") : ""}/${ctx.name ?? ""}; ${res.group}/${res.version}, Kind=${res.kind}`;
  const paths = decoded.unknown.map(
    (u) => `.${JSON.parse(u.slice("unknown field ".length)) as string}: field not declared in schema`,
  );
  if (decoded.error !== undefined) paths.push(decoded.error);
  if (paths.length === 0) return;
  const text = paths.length === 1 ? (paths[0] ?? "") : `errors:\n  ${paths.join("\n  ")}`;
  throw failure(500, "", `failed to create typed patch object (${where}): ${text}`);
}
