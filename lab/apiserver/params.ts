// Boolean query parameters as apimachinery converts them into ListOptions, PatchOptions...
// (runtime.Convert_Slice_string_To_bool and _To_Pointer_bool): absent is false (or unset, for
// *bool fields); the first value "0" or "false" in any case is false; anything else, even ""
// or "yes", is true. The official Python client sends `watch=True`, kubectl `watch=true`.
import type { Ctx } from "./http.ts";
import { failure, type StatusError } from "./status.ts";

/** undefined when the parameter is absent (a *bool left nil) */
export function boolParam(ctx: Pick<Ctx, "url">, name: string): boolean | undefined {
  const values = ctx.url.searchParams.getAll(name);
  if (values.length === 0) return undefined;
  const first = values[0] ?? "";
  return !(first === "0" || first.toLowerCase() === "false");
}

export const flag = (ctx: Pick<Ctx, "url">, name: string): boolean => boolParam(ctx, name) ?? false;

/** A bad option (CreateOptions, PatchOptions...): 422 Invalid, as ValidatePatchOptions answers. */
export function invalidOptions(
  kind: string,
  field: string,
  reason: "FieldValueForbidden" | "FieldValueRequired",
  detail: string,
): StatusError {
  const message = `${reason === "FieldValueForbidden" ? "Forbidden" : "Required value"}: ${detail}`;
  return failure(422, "Invalid", `${kind}.meta.k8s.io "" is invalid: ${field}: ${message}`, {
    group: "meta.k8s.io",
    kind,
    causes: [{ reason, message, field }],
  });
}
