// metav1.Status failures with the reasons, codes and message texts of k8s.io/apimachinery's
// pkg/api/errors, so clients that branch on reason (client-go's IsConflict, kubectl's
// "Error from server (Reason): ...") behave as against a real server.
import { qualifiedName, type Resource } from "./resources.ts";

export interface StatusCause {
  reason?: string;
  message?: string;
  field?: string;
}

export interface Status {
  kind: "Status";
  apiVersion: "v1";
  metadata: Record<string, never>;
  status: "Failure" | "Success";
  message?: string;
  reason?: string;
  details?: {
    name?: string;
    group?: string;
    kind?: string;
    uid?: string;
    causes?: StatusCause[];
    retryAfterSeconds?: number;
  };
  code: number;
}

/** Thrown inside a request handler; the router turns it into the HTTP answer. */
export class StatusError extends Error {
  readonly status: Status;
  constructor(status: Status) {
    super(status.message ?? status.reason ?? "error");
    this.status = status;
  }
}

export function failure(
  code: number,
  reason: string,
  message: string,
  details?: Status["details"],
): StatusError {
  const status: Status = { kind: "Status", apiVersion: "v1", metadata: {}, status: "Failure", message, code };
  if (reason !== "") status.reason = reason;
  if (details !== undefined) status.details = details;
  return new StatusError(status);
}

function detailsOf(res: Resource, name: string): NonNullable<Status["details"]> {
  const d: NonNullable<Status["details"]> = { name };
  if (res.group !== "") d.group = res.group;
  d.kind = res.resource;
  return d;
}

export const notFound = (res: Resource, name: string): StatusError =>
  failure(404, "NotFound", `${qualifiedName(res)} "${name}" not found`, detailsOf(res, name));

export const alreadyExists = (res: Resource, name: string): StatusError =>
  failure(409, "AlreadyExists", `${qualifiedName(res)} "${name}" already exists`, detailsOf(res, name));

export const conflict = (res: Resource, name: string, why: string): StatusError =>
  failure(
    409,
    "Conflict",
    `Operation cannot be fulfilled on ${qualifiedName(res)} "${name}": ${why}`,
    detailsOf(res, name),
  );

export const MODIFIED =
  "the object has been modified; please apply your changes to the latest version and try again";

/** A field.Error: "spec.ports[0].port: Invalid value: 0: must be between 1 and 65535, inclusive" */
export interface FieldError {
  field: string;
  /** FieldValueInvalid, FieldValueRequired, FieldValueNotSupported, FieldValueDuplicate, FieldValueForbidden */
  type: string;
  /** the text after "<field>: " */
  detail: string;
}

export function invalid(res: Resource, name: string, errors: FieldError[]): StatusError {
  const texts = errors.map((e) => `${e.field}: ${e.detail}`);
  const joined = texts.length === 1 ? (texts[0] ?? "") : `[${texts.join(", ")}]`;
  const details: NonNullable<Status["details"]> = { name };
  if (res.group !== "") details.group = res.group;
  details.kind = res.kind;
  details.causes = errors.map((e) => ({ reason: e.type, message: e.detail, field: e.field }));
  // GroupKind.String(): "Service", "EndpointSlice.discovery.k8s.io"
  const kind = res.group === "" ? res.kind : `${res.kind}.${res.group}`;
  return failure(422, "Invalid", `${kind} "${name}" is invalid: ${joined}`, details);
}

export const badRequest = (message: string): StatusError => failure(400, "BadRequest", message);

export const forbidden = (res: Resource, name: string, why: string): StatusError =>
  failure(403, "Forbidden", `${qualifiedName(res)} "${name}" is forbidden: ${why}`, detailsOf(res, name));

/** apierrors.NewForbidden as the authorization filter calls it (details.kind is the resource). */
export function forbiddenRequest(group: string, resource: string, name: string, why: string): StatusError {
  const qualified = group === "" ? resource : `${resource}.${group}`;
  const message =
    qualified === ""
      ? `forbidden: ${why}`
      : name === ""
        ? `${qualified} is forbidden: ${why}`
        : `${qualified} ${JSON.stringify(name)} is forbidden: ${why}`;
  const details: NonNullable<Status["details"]> = {};
  if (name !== "") details.name = name;
  if (group !== "") details.group = group;
  if (resource !== "") details.kind = resource;
  return failure(403, "Forbidden", message, details);
}

export const methodNotAllowed = (): StatusError =>
  failure(405, "MethodNotAllowed", "the server does not allow this method on the requested resource");

export const pathNotFound = (): StatusError =>
  failure(404, "NotFound", "the server could not find the requested resource", {});

export const unsupportedMediaType = (accepted: string[]): StatusError =>
  failure(
    415,
    "UnsupportedMediaType",
    `the body of the request was in an unknown format - accepted media types include: ${accepted.join(", ")}`,
  );

export const internalError = (message: string): StatusError =>
  failure(500, "InternalError", `Internal error occurred: ${message}`, { causes: [{ message }] });

export const expired = (message: string): StatusError => failure(410, "Expired", message);

export const unauthorized = (): StatusError => failure(401, "Unauthorized", "Unauthorized");

export function asStatus(err: unknown): Status {
  if (err instanceof StatusError) return err.status;
  const message = err instanceof Error ? err.message : String(err);
  return internalError(message).status;
}

/** ListOptions / PatchOptions... refused: `ListOptions.meta.k8s.io "" is invalid: ...` */
export function invalidOptions(kind: string, errors: FieldError[]): StatusError {
  const texts = errors.map((e) => `${e.field}: ${e.detail}`);
  const joined = texts.length === 1 ? (texts[0] ?? "") : `[${texts.join(", ")}]`;
  return failure(422, "Invalid", `${kind}.meta.k8s.io "" is invalid: ${joined}`, {
    group: "meta.k8s.io",
    kind,
    causes: errors.map((e) => ({ reason: e.type, message: e.detail, field: e.field })),
  });
}

/** The watch cache's answer to a resourceVersion it has not reached (storage.NewTooLargeResourceVersionError). */
export const tooLargeResourceVersion = (rv: number, current: number): StatusError =>
  failure(504, "Timeout", `Timeout: Too large resource version: ${rv}, current: ${current}`, {
    causes: [{ reason: "ResourceVersionTooLarge", message: "Too large resource version" }],
    retryAfterSeconds: 1,
  });
