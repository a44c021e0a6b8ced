// What to write so the API holds exactly the desired slices of a Service: the real controller's
// reconciler in small — reuse a slice of the same address type and ports, update it only when its
// endpoints (or our labels/owner) differ, create the missing ones with generateName `<svc>-`,
// delete the rest. Pure.
import type { SliceSpec } from "./endpointslices.ts";

// lab/ imports nothing of the product: a copy of kube/labels.ts's, pinned equal by
// test/one-definition.test.ts.
export const SERVICE_NAME_LABEL = "kubernetes.io/service-name";
export const MANAGED_BY_LABEL = "endpointslice.kubernetes.io/managed-by";
export const MANAGED_BY = "endpointslice-controller.k8s.io";
export const TRIGGER_TIME = "endpoints.kubernetes.io/last-change-trigger-time";

export interface SliceObject {
  apiVersion?: string;
  kind?: string;
  metadata: {
    name?: string;
    generateName?: string;
    namespace?: string;
    resourceVersion?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    ownerReferences?: unknown[];
  };
  addressType?: string;
  endpoints?: unknown[] | null;
  ports?: unknown[] | null;
}

export interface OwnerService {
  metadata: { name: string; namespace?: string; uid?: string };
  spec?: { clusterIP?: string };
}

export type SliceOp =
  | { op: "create"; body: SliceObject }
  | { op: "update"; name: string; body: SliceObject }
  | { op: "delete"; name: string };

const key = (addressType: unknown, ports: unknown) => `${String(addressType)}|${JSON.stringify(ports ?? [])}`;

function sliceBody(svc: OwnerService, spec: SliceSpec, triggerTime: string, base?: SliceObject): SliceObject {
  const name = svc.metadata.name;
  const labels: Record<string, string> = {
    ...base?.metadata.labels,
    [SERVICE_NAME_LABEL]: name,
    [MANAGED_BY_LABEL]: MANAGED_BY,
  };
  if (svc.spec?.clusterIP === "None") labels["service.kubernetes.io/headless"] = "";
  return {
    apiVersion: "discovery.k8s.io/v1",
    kind: "EndpointSlice",
    metadata: {
      ...(base ? { name: base.metadata.name, resourceVersion: base.metadata.resourceVersion } : {}),
      generateName: base?.metadata.generateName ?? `${name}-`,
      namespace: svc.metadata.namespace ?? "default",
      labels,
      annotations: { ...base?.metadata.annotations, [TRIGGER_TIME]: triggerTime },
      ownerReferences: [
        {
          apiVersion: "v1",
          kind: "Service",
          name,
          uid: svc.metadata.uid ?? "",
          controller: true,
          blockOwnerDeletion: true,
        },
      ],
    },
    addressType: spec.addressType,
    endpoints: spec.endpoints,
    ports: spec.ports,
  };
}

const ownedBy = (s: SliceObject, svc: OwnerService) =>
  JSON.stringify(s.metadata.ownerReferences ?? []) ===
  JSON.stringify(
    sliceBody(svc, { addressType: "IPv4", ports: [], endpoints: [] }, "").metadata.ownerReferences,
  );

/**
 * `desired` undefined: the Service has no selector, its slices are someone else's (nothing to do).
 * `service` undefined: the Service is gone; the stand-in has no garbage collector, so its slices go here.
 */
export function planSlices(
  service: OwnerService | undefined,
  desired: readonly SliceSpec[] | undefined,
  existing: readonly SliceObject[],
  triggerTime: string,
): SliceOp[] {
  const ours = existing.filter((s) => s.metadata.labels?.[MANAGED_BY_LABEL] === MANAGED_BY);
  if (service === undefined) return ours.map((s) => ({ op: "delete", name: s.metadata.name ?? "" }));
  if (desired === undefined) return [];
  // No endpoints: the real controller keeps one empty placeholder slice rather than none.
  const want: readonly SliceSpec[] =
    desired.length > 0 ? desired : [{ addressType: "IPv4", ports: [], endpoints: [] }];
  const free = [...ours];
  const ops: SliceOp[] = [];
  const pending: SliceSpec[] = [];
  // First pass: desired slices that some existing slice already holds exactly.
  for (const d of want) {
    const i = free.findIndex(
      (s) =>
        key(s.addressType, s.ports) === key(d.addressType, d.ports) &&
        JSON.stringify(s.endpoints ?? []) === JSON.stringify(d.endpoints) &&
        s.metadata.labels?.[SERVICE_NAME_LABEL] === service.metadata.name &&
        ownedBy(s, service),
    );
    if (i >= 0) free.splice(i, 1);
    else pending.push(d);
  }
  // Then: reuse a slice of the same shape, else create.
  for (const d of pending) {
    const i = free.findIndex((s) => key(s.addressType, s.ports) === key(d.addressType, d.ports));
    if (i >= 0) {
      const [base] = free.splice(i, 1);
      ops.push({
        op: "update",
        name: base!.metadata.name ?? "",
        body: sliceBody(service, d, triggerTime, base),
      });
    } else ops.push({ op: "create", body: sliceBody(service, d, triggerTime) });
  }
  for (const s of free) ops.push({ op: "delete", name: s.metadata.name ?? "" });
  return ops;
}
