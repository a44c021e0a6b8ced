// AdmissionReview admission.k8s.io/v1, in and out (SPEC §5). Every answer echoes the request's
// uid; bad input is answered with a status code inside the review, never with a bare HTTP error.
import { z } from "zod";
import { conforms } from "../annotations/index.ts";

export const API_VERSION = "admission.k8s.io/v1";

export type Operation = "CREATE" | "UPDATE" | "DELETE" | "CONNECT";

/** The request fields we read; everything else passes untouched. Objects stay raw (`unknown`). */
const requestSchema = z.looseObject({
  uid: z.string().min(1, "request.uid must be a non-empty string"),
  kind: z.looseObject({ group: z.string(), version: z.string(), kind: z.string() }).optional(),
  name: z.string().optional(),
  namespace: z.string().optional(),
  operation: z.string(),
  object: z.unknown().optional(),
  oldObject: z.unknown().optional(),
  dryRun: z.boolean().optional(),
});

export type AdmissionRequest = z.infer<typeof requestSchema>;

/** The AdmissionReview fields read; exported for its agreement test with conforms (review.test.ts). */
export const reviewSchema = z.looseObject({
  apiVersion: z.literal(API_VERSION, { error: `apiVersion must be ${API_VERSION}` }),
  kind: z.literal("AdmissionReview", { error: "kind must be AdmissionReview" }),
  request: requestSchema,
});

const isReview = conforms(reviewSchema);

export interface Status {
  code: number;
  reason: string;
  message: string;
  status: "Failure";
}

export interface AdmissionResponse {
  uid: string;
  allowed: boolean;
  status?: Status;
  /** base64 of a JSON Patch (RFC 6902); always together with patchType. */
  patch?: string;
  patchType?: "JSONPatch";
  warnings?: string[];
}

export interface AdmissionReviewOut {
  apiVersion: typeof API_VERSION;
  kind: "AdmissionReview";
  response: AdmissionResponse;
}

export type JsonPatchOp = { op: "add"; path: string; value: unknown };

/** Read a parsed JSON body as an AdmissionReview; the uid is returned even on failure when present. */
export function parseReview(
  body: unknown,
): { ok: true; request: AdmissionRequest } | { ok: false; uid: string; error: string } {
  // The usual review is used as it is, not copied by zod; zod words the refusals.
  if (isReview(body)) return { ok: true, request: body.request };
  const r = reviewSchema.safeParse(body);
  if (r.success) return { ok: true, request: r.data.request };
  const uid = uidOf(body);
  const issue = r.error.issues[0];
  const where = issue && issue.path.length > 0 ? `${issue.path.join(".")}: ` : "";
  const what =
    body === null || typeof body !== "object" || Array.isArray(body) ? "" : `${where}${issue?.message}`;
  return { ok: false, uid, error: `not an ${API_VERSION} AdmissionReview${what ? ` (${what})` : ""}` };
}

function uidOf(body: unknown): string {
  if (body === null || typeof body !== "object") return "";
  const request = (body as { request?: unknown }).request;
  if (request === null || typeof request !== "object") return "";
  const uid = (request as { uid?: unknown }).uid;
  return typeof uid === "string" ? uid : "";
}

const withWarnings = (r: AdmissionResponse, warnings: readonly string[]): AdmissionResponse =>
  warnings.length > 0 ? { ...r, warnings: [...warnings] } : r;

export function allowed(uid: string, warnings: readonly string[] = []): AdmissionResponse {
  return withWarnings({ uid, allowed: true }, warnings);
}

/** A policy denial: 403 Forbidden, so kubectl prints `Error from server (Forbidden): …`. */
export function denied(uid: string, message: string, warnings: readonly string[] = []): AdmissionResponse {
  return withWarnings(
    { uid, allowed: false, status: { code: 403, reason: "Forbidden", message, status: "Failure" } },
    warnings,
  );
}

/** Allowed with a JSON Patch; with no operations it is a plain allow (the apiserver rejects an empty patchType). */
export function patched(
  uid: string,
  ops: readonly JsonPatchOp[],
  warnings: readonly string[] = [],
): AdmissionResponse {
  if (ops.length === 0) return allowed(uid, warnings);
  const patch = Buffer.from(JSON.stringify(ops)).toString("base64");
  return withWarnings({ uid, allowed: true, patch, patchType: "JSONPatch" }, warnings);
}

const REASONS: Record<number, string> = {
  400: "BadRequest",
  404: "NotFound",
  405: "MethodNotAllowed",
  408: "Timeout",
  413: "RequestEntityTooLarge",
  415: "UnsupportedMediaType",
  429: "TooManyRequests",
  500: "InternalError",
};

/** Messages quote the input (a path, a key); an answer stays small whatever came in. */
export const MESSAGE_MAX = 4096;

export const clipMessage = (m: string): string =>
  m.length <= MESSAGE_MAX ? m : `${m.slice(0, MESSAGE_MAX)}… (${m.length - MESSAGE_MAX} more characters)`;

/** A request we could not judge: its code and reason say why (400 bad input, 408, 413, 415, 429, 500). */
export function errored(uid: string, code: number, message: string): AdmissionResponse {
  return {
    uid,
    allowed: false,
    status: {
      code,
      reason: REASONS[code] ?? "InternalError",
      message: clipMessage(message),
      status: "Failure",
    },
  };
}

/** A warning quotes at most this much of the reason (kube-apiserver cuts long warnings itself). */
const UNMUTATED_MAX = 512;

/**
 * What /mutate answers in place of an error: admitted, unpatched, the reason as a warning.
 * kube-apiserver's mutating dispatcher turns allowed:false into a rejection (ErrWebhookRejection),
 * which failurePolicy Ignore does not cover: one mutate failure would refuse the write. The
 * defaults are a convenience the syncer applies itself, and the validating webhook still judges
 * the request, so the write goes on without them. Overload and deadline answers (429, 408) are
 * HTTP errors instead, which Ignore does cover; this is for answers sent with HTTP 200.
 */
export function unmutated(failed: AdmissionResponse): AdmissionResponse {
  const s = failed.status;
  const why = `kube-nftlb wrote no defaults (${s?.code ?? 500} ${s?.reason ?? "InternalError"}): ${s?.message ?? ""}`;
  return allowed(failed.uid, [why.length <= UNMUTATED_MAX ? why : `${why.slice(0, UNMUTATED_MAX)}…`]);
}

export function review(response: AdmissionResponse): AdmissionReviewOut {
  return { apiVersion: API_VERSION, kind: "AdmissionReview", response };
}

const REVIEW_HEAD =
  JSON.stringify(review({ uid: "", allowed: true })).split('"response":')[0] + '"response":';

/** `JSON.stringify(review(response))`, the constant head written once rather than per answer. */
export const reviewJson = (response: AdmissionResponse): string =>
  `${REVIEW_HEAD}${JSON.stringify(response)}}`;

/** The verdict a response represents, for logs and metrics (a small fixed set of label values). */
export const VERDICTS = ["allowed", "patched", "denied", "errored"] as const;
export type Verdict = (typeof VERDICTS)[number];

export function verdictOf(r: AdmissionResponse): Verdict {
  if (r.allowed) return r.patch === undefined ? "allowed" : "patched";
  return r.status?.code === 403 ? "denied" : "errored";
}
