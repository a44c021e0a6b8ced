// AdmissionReviews as kube-apiserver sends them, for the tests of this folder and test/.
import { PREFIX } from "../annotations/index.ts";
import type { AdmissionRequest } from "./review.ts";

export const key = (suffix: string): string => `${PREFIX}${suffix}`;

export interface ServiceShape {
  name?: string;
  namespace?: string;
  annotations?: Record<string, unknown> | null;
  labels?: Record<string, string>;
  spec?: Record<string, unknown>;
  /** Extra top-level or metadata fields we do not model, to prove they survive. */
  extra?: Record<string, unknown>;
  metadataExtra?: Record<string, unknown>;
}

export function service(s: ServiceShape = {}): Record<string, unknown> {
  const metadata: Record<string, unknown> = {
    name: s.name ?? "web",
    namespace: s.namespace ?? "shop",
    uid: "7f0c4b0e-0000-4000-8000-000000000001",
    ...s.metadataExtra,
  };
  if (s.annotations !== undefined) metadata.annotations = s.annotations;
  if (s.labels) metadata.labels = s.labels;
  return {
    apiVersion: "v1",
    kind: "Service",
    metadata,
    spec: s.spec ?? {
      type: "ClusterIP",
      clusterIP: "10.96.0.10",
      ports: [{ name: "http", protocol: "TCP", port: 80, targetPort: 8080 }],
    },
    ...s.extra,
  };
}

let n = 0;

export function request(
  object: unknown,
  opts: { operation?: string; oldObject?: unknown; uid?: string; kind?: string; group?: string } = {},
): AdmissionRequest {
  const meta = (object as { metadata?: { name?: string; namespace?: string } } | null)?.metadata;
  return {
    uid: opts.uid ?? `uid-${++n}`,
    kind: { group: opts.group ?? "", version: "v1", kind: opts.kind ?? "Service" },
    resource: { group: "", version: "v1", resource: "services" },
    name: meta?.name ?? "",
    namespace: meta?.namespace ?? "default",
    operation: opts.operation ?? "CREATE",
    userInfo: { username: "alice" },
    object,
    oldObject: opts.oldObject ?? null,
    dryRun: false,
  };
}

export function admissionReview(req: AdmissionRequest): Record<string, unknown> {
  return { apiVersion: "admission.k8s.io/v1", kind: "AdmissionReview", request: req };
}
