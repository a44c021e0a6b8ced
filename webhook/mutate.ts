// The mutating webhook: write the cluster defaults a Service lacks (SPEC §2), as a JSON Patch
// computed against the raw object so that fields we do not model are never touched.
import {
  balanced,
  BUILTIN_DEFAULTS,
  DEFAULT_SCOPE,
  DEFAULTED_FULL_KEYS,
  missingDefaults,
  type ClusterDefaults,
  type ProxyScope,
} from "../annotations/index.ts";
import {
  patched,
  unmutated,
  type AdmissionRequest,
  type AdmissionResponse,
  type JsonPatchOp,
} from "./review.ts";
import { subjectOf } from "./subject.ts";

export interface MutateOptions {
  defaults?: ClusterDefaults;
  scope?: ProxyScope;
}

/** RFC 6901: `~` first, then `/`, so `a/b` is `a~1b` and `a~1` is `a~01`. */
export const escapePointer = (segment: string): string => segment.replaceAll("~", "~0").replaceAll("/", "~1");

/**
 * Never a refusal: what it cannot judge is admitted without defaults and with a warning.
 * Only `add` of absent keys: never `persistence` (missingDefaults leaves it out), never a value
 * the user set, and a second call finds nothing missing. Services kube-nftlb does not balance get
 * nothing: written defaults would only earn them a "has no effect" warning from validation.
 */
export function mutate(request: AdmissionRequest, opts: MutateOptions = {}): AdmissionResponse {
  const subject = subjectOf(request);
  // A Service it cannot read is admitted unpatched (webhook/review.ts unmutated says why).
  if (!subject.judge) return subject.response.allowed ? subject.response : unmutated(subject.response);
  if (!balanced(subject.service, opts.scope ?? DEFAULT_SCOPE).balanced) return patched(request.uid, []);
  const missing = missingDefaults(subject.service, opts.defaults ?? BUILTIN_DEFAULTS);
  return patched(request.uid, annotationPatch(subject.raw, missing));
}

/** The paths of the keys mutate writes, escaped once rather than per review. */
const DEFAULTED_PATHS = new Map(
  DEFAULTED_FULL_KEYS.map(([, full]) => [full, `/metadata/annotations/${escapePointer(full)}`]),
);

function annotationPatch(raw: Record<string, unknown>, add: readonly [string, string][]): JsonPatchOp[] {
  if (add.length === 0) return [];
  const metadata = raw.metadata as Record<string, unknown>;
  const existing = metadata.annotations;
  // Absent or null: one `add` creates the map (an `add` onto a null member replaces it).
  if (existing === undefined || existing === null) {
    return [{ op: "add", path: "/metadata/annotations", value: Object.fromEntries(add) }];
  }
  return add.map(([key, value]) => ({
    op: "add",
    // Only defaulted keys reach here (missingDefaults); any other is escaped as it comes.
    path: DEFAULTED_PATHS.get(key) ?? `/metadata/annotations/${escapePointer(key)}`,
    value,
  }));
}
