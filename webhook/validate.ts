// The validating webhook's verdict: the annotation contract (annotations/) applied to a Service.
import { evaluateService, type EvaluateOptions, type Finding } from "../annotations/index.ts";
import { allowed, denied, type AdmissionRequest, type AdmissionResponse } from "./review.ts";
import { subjectOf } from "./subject.ts";

export type ValidateOptions = EvaluateOptions;

/** Findings quote keys and values; one stays short whatever its input. */
const LINE_MAX = 512;
/** Problems spelt out in one answer; the rest are counted. kubectl prints the message whole. */
export const LISTED_MAX = 10;
/** Warnings sent: kube-apiserver cuts them to 256 characters each once they pass 4096 in all. */
export const WARNINGS_MAX = 10;

const line = (f: Finding): string => {
  const l = `${f.key}: ${f.message}`;
  return l.length <= LINE_MAX ? l : `${l.slice(0, LINE_MAX)}…`;
};
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
  const sent = capped(warnings, WARNINGS_MAX, (k) => `… and ${k} more warnings`);
  if (refused.length === 0) return allowed(request.uid, sent);
  const what =
    refused.length === 1 ? "an invalid kube-nftlb setting" : `${refused.length} invalid kube-nftlb settings`;
  // The contract's own messages contain "; ", so several findings are numbered to stay legible.
  const list =
    refused.length === 1
      ? line(refused[0]!)
      : capped(
          refused.slice(0, LISTED_MAX + 1).map((f, i) => `(${i + 1}) ${line(f)}`),
          LISTED_MAX,
          () => `… and ${refused.length - LISTED_MAX} more`,
        ).join(" ");
  return denied(request.uid, `${clipId(subject.id)} has ${what}: ${list}`, sent);
}

/** The first `max` items, and one saying how many were left out. */
function capped(items: string[], max: number, more: (k: number) => string): string[] {
  return items.length <= max ? items : [...items.slice(0, max), more(items.length - max)];
}

const clipId = (id: string): string => (id.length <= LINE_MAX ? id : `${id.slice(0, LINE_MAX)}…`);
