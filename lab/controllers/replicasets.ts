// What the real ReplicaSet controller does for one ReplicaSet, in small: count its active Pods
// (controller ownerReference with its uid, not terminating), create from the template or delete
// (unready first, then the newest) until they are spec.replicas, and report status. Pure.
import {
  availableAt,
  canonical,
  controllerOf,
  counts,
  isReady,
  ownerRef,
  type ObjectMeta,
  type PodTemplate,
  type Selector,
  type WorkloadPod,
} from "./workloads.ts";

export interface ReplicaSetObj {
  metadata: ObjectMeta;
  spec: { replicas?: number; minReadySeconds?: number; selector?: Selector; template?: PodTemplate };
  status?: Record<string, unknown>;
}

export interface ReplicaSetPlan {
  /** Pod bodies to POST */
  create: Record<string, unknown>[];
  /** Pod names to DELETE */
  delete: string[];
  /** the status to write, or undefined when it is already so */
  status: Record<string, unknown> | undefined;
  /** look again then (a Pod becoming available after minReadySeconds) */
  recheckAt: number | undefined;
}

export function podFromTemplate(rs: ReplicaSetObj): Record<string, unknown> {
  const t = rs.spec.template ?? {};
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: {
      generateName: `${rs.metadata.name}-`,
      namespace: rs.metadata.namespace,
      labels: { ...t.metadata?.labels },
      ...(t.metadata?.annotations ? { annotations: { ...t.metadata.annotations } } : {}),
      ownerReferences: [ownerRef("apps/v1", "ReplicaSet", rs.metadata)],
    },
    spec: structuredClone(t.spec ?? {}),
  };
}

/** getPodsToDelete's order, in small: unready before ready, then the youngest first. */
function deletionOrder(a: WorkloadPod, b: WorkloadPod): number {
  const ready = Number(isReady(a)) - Number(isReady(b));
  if (ready !== 0) return ready;
  const age = (b.metadata.creationTimestamp ?? "").localeCompare(a.metadata.creationTimestamp ?? "");
  return age !== 0 ? age : b.metadata.name.localeCompare(a.metadata.name);
}

export function planReplicaSet(rs: ReplicaSetObj, pods: readonly WorkloadPod[], now: number): ReplicaSetPlan {
  const uid = rs.metadata.uid;
  const active = pods.filter(
    (p) => controllerOf(p.metadata)?.uid === uid && p.metadata.deletionTimestamp === undefined,
  );
  const want = rs.spec.replicas ?? 1;
  const create = Array.from({ length: Math.max(0, want - active.length) }, () => podFromTemplate(rs));
  const del = [...active]
    .sort(deletionOrder)
    .slice(0, Math.max(0, active.length - want))
    .map((p) => p.metadata.name);
  const minReady = rs.spec.minReadySeconds ?? 0;
  const times = active.map((p) => availableAt(p, minReady));
  const available = times.filter((t) => t !== undefined && t <= now).length;
  const later = times.filter((t): t is number => t !== undefined && t > now);
  const status = {
    ...counts({
      replicas: active.length,
      fullyLabeledReplicas: active.length,
      readyReplicas: active.filter(isReady).length,
      availableReplicas: available,
    }),
    observedGeneration: rs.metadata.generation ?? 1,
  };
  const same = canonical(status) === canonical(rs.status ?? {});
  return {
    create,
    delete: del,
    status: same ? undefined : status,
    recheckAt: later.length > 0 ? Math.min(...later) : undefined,
  };
}
