// Boolean query parameters as apimachinery converts them into ListOptions, PatchOptions...
// (runtime.Convert_Slice_string_To_bool and _To_Pointer_bool): absent is false (or unset, for
// *bool fields); the first value "0" or "false" in any case is false; anything else, even ""
// or "yes", is true. The official Python client sends `watch=True`, kubectl `watch=true`.
import type { Ctx } from "./http.ts";
import { failure, type StatusError } from "./status.ts";
import { goValue } from "./validation.ts";

/** undefined when the parameter is absent (a *bool left nil) */
export function boolParam(ctx: Pick<Ctx, "url">, name: string): boolean | undefined {
  const values = ctx.url.searchParams.getAll(name);
  if (values.length === 0) return undefined;
  const first = values[0] ?? "";
  return !(first === "0" || first.toLowerCase() === "false");
}

export const flag = (ctx: Pick<Ctx, "url">, name: string): boolean => boolParam(ctx, name) ?? false;

/** A bad option (CreateOptions, PatchOptions...): 422 Invalid, as the handlers answer ValidateXOptions. */
export function invalidOptions(
  kind: string,
  field: string,
  reason: "FieldValueForbidden" | "FieldValueRequired" | "FieldValueNotSupported" | "FieldValueTooLong",
  message: string,
): StatusError {
  return failure(422, "Invalid", `${kind}.meta.k8s.io "" is invalid: ${field}: ${message}`, {
    group: "meta.k8s.io",
    kind,
    causes: [{ reason, message, field }],
  });
}

const OPTIONS: Record<string, string> = {
  POST: "CreateOptions",
  PUT: "UpdateOptions",
  PATCH: "PatchOptions",
  DELETE: "DeleteOptions",
};

/**
 * ?dryRun (only "All") and ?fieldManager (at most 128 bytes) as ValidateDryRun and
 * ValidateFieldManager check them for every write; true for a dry run.
 */
export function writeOptions(ctx: Pick<Ctx, "url" | "req">): boolean {
  const kind = OPTIONS[ctx.req.method ?? ""] ?? "CreateOptions";
  const values = ctx.url.searchParams.getAll("dryRun");
  if (values.some((v) => v !== "All"))
    throw invalidOptions(
      kind,
      "dryRun",
      "FieldValueNotSupported",
      `Unsupported value: ${goValue(values)}: supported values: "All"`,
    );
  const manager = ctx.url.searchParams.get("fieldManager") ?? "";
  if (kind !== "DeleteOptions" && Buffer.byteLength(manager) > 128)
    throw invalidOptions(
      kind,
      "fieldManager",
      "FieldValueTooLong",
      "Too long: may not be more than 128 bytes",
    );
  return values.length > 0;
}
