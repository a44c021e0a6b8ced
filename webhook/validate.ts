// The validating webhook's verdict: the annotation contract (annotations/) applied to a Service.
import { evaluateService, type EvaluateOptions, type Finding } from "../annotations/index.ts";
import { allowed, denied, type AdmissionRequest, type AdmissionResponse } from "./review.ts";
import { subjectOf } from "./subject.ts";

export type ValidateOptions = EvaluateOptions;

const line = (f: Finding): string => `${f.key}: ${f.message}`;
const sameness = (f: Finding): string => `${f.key}\u0000${f.message}`;

/**
 * CREATE: every error refuses. UPDATE: only errors the change introduces refuse; errors the stored
 * object already had become warnings, so a Service stored before the webhook existed (or while it
 * was bypassed) can still be scaled, relabelled or fixed one key at a time.
 */
export function validate(request: AdmissionRequest, opts: ValidateOptions = {}): AdmissionResponse {
  const subject = subjectOf(request);
  if (!subject.judge) return subject.response;
  const result = evaluateService(subject.service, opts);
  const warnings = result.warnings.map(line);

  let refused = result.errors;
  if (request.operation === "UPDATE") {
    const before = subjectOf(request, "oldObject");
    if (before.judge) {
      const had = new Set(evaluateService(before.service, opts).errors.map(sameness));
      refused = result.errors.filter((f) => !had.has(sameness(f)));
      for (const f of result.errors) {
        if (had.has(sameness(f)))
          warnings.push(`${line(f)} (already stored before this change; fix it when you can)`);
      }
    }
  }
  if (refused.length === 0) return allowed(request.uid, warnings);
  const what =
    refused.length === 1 ? "an invalid kube-nftlb setting" : `${refused.length} invalid kube-nftlb settings`;
  // The contract's own messages contain "; ", so several findings are numbered to stay legible.
  const list =
    refused.length === 1 ? line(refused[0]!) : refused.map((f, i) => `(${i + 1}) ${line(f)}`).join(" ");
  return denied(request.uid, `${subject.id} has ${what}: ${list}`, warnings);
}
