// What a request asks us to judge: a Service to check, or an answer already decided (a DELETE,
// an object that is not a Service, a Service we cannot read).
import { parseService, type Service } from "../annotations/index.ts";
import { allowed, errored, type AdmissionRequest, type AdmissionResponse } from "./review.ts";

export type Subject =
  | { judge: true; raw: Record<string, unknown>; service: Service; id: string }
  | { judge: false; response: AdmissionResponse };

/**
 * Objects other than Services are admitted with a warning, not refused: the configurations in
 * deploy/webhook/ only send Services, so one arriving means someone widened the rules. Refusing
 * would turn that mistake into an outage for every kind it now matches (Pods included), while
 * our contract has nothing to say about them; the warning makes the mistake visible to kubectl.
 */
export function subjectOf(request: AdmissionRequest, which: "object" | "oldObject" = "object"): Subject {
  const { uid } = request;
  if (request.operation !== "CREATE" && request.operation !== "UPDATE") {
    return { judge: false, response: allowed(uid) };
  }
  const obj = request[which];
  if (obj === null || typeof obj !== "object" || Array.isArray(obj)) {
    return {
      judge: false,
      response: errored(uid, 400, `request.${which} must be an object on ${request.operation}`),
    };
  }
  const raw = obj as Record<string, unknown>;
  const group = request.kind?.group ?? "";
  const kind = request.kind?.kind ?? (typeof raw.kind === "string" ? raw.kind : "");
  if (kind !== "Service" || group !== "") {
    const what = group === "" ? kind || "an object without a kind" : `${group}/${kind}`;
    return {
      judge: false,
      response: allowed(uid, [
        `kube-nftlb checks only Services; ${what} admitted unchecked (the webhook configuration's rules are wider than they should be)`,
      ]),
    };
  }
  const tooMany = annotationsOverLimit(raw);
  if (tooMany !== undefined) return { judge: false, response: errored(uid, 400, tooMany) };
  const parsed = parseService(raw.kind === undefined ? { ...raw, kind: "Service" } : raw);
  if (!parsed.ok) return { judge: false, response: errored(uid, 400, parsed.error) };
  return { judge: true, raw, service: parsed.service, id: serviceId(request, parsed.service) };
}

/** Kubernetes' own limit on an object's annotations, keys and values together (apimachinery). */
export const ANNOTATIONS_MAX_BYTES = 256 * 1024;

/**
 * The API server refuses an object whose annotations pass 256 KiB, so a bigger set never becomes
 * a Service; judging one anyway (a finding per key) would let one request cost seconds of CPU.
 */
function annotationsOverLimit(raw: Record<string, unknown>): string | undefined {
  const annotations = (raw.metadata as { annotations?: unknown } | null | undefined)?.annotations;
  if (annotations === null || typeof annotations !== "object") return undefined;
  // UTF-8 takes at most 3 bytes per UTF-16 unit: most reviews are settled by the cheap count.
  let units = 0;
  for (const k in annotations) {
    const v = (annotations as Record<string, unknown>)[k];
    units += k.length + (typeof v === "string" ? v.length : 0);
  }
  if (units * 3 <= ANNOTATIONS_MAX_BYTES) return undefined;
  let bytes = 0;
  for (const [k, v] of Object.entries(annotations))
    bytes += Buffer.byteLength(k) + (typeof v === "string" ? Buffer.byteLength(v) : 0);
  return bytes <= ANNOTATIONS_MAX_BYTES
    ? undefined
    : `metadata.annotations: too long: must have at most ${ANNOTATIONS_MAX_BYTES} bytes (Kubernetes' limit)`;
}

function serviceId(request: AdmissionRequest, service: Service): string {
  const meta = service.metadata;
  const name = request.name || meta.name || (meta.generateName ? `${meta.generateName}*` : "(unnamed)");
  return `Service ${request.namespace || meta.namespace || "default"}/${name}`;
}
