// What the real Deployment controller does for one Deployment, in small: the ReplicaSet of the
// current template (`<name>-<pod-template-hash>`, the hash in its labels, selector and template,
// an ownerReference with the Deployment's uid, the revision annotation) scaled to spec.replicas;
// older ReplicaSets scaled down as the new one's Pods become available (so a rollout never
// drops below what was available); and the status `kubectl rollout status` reads. Pure.
import type { ReplicaSetObj } from "./replicasets.ts";
import {
  canonical,
  controllerOf,
  dropEmpty,
  counts,
  ownerRef,
  REVISION,
  TEMPLATE_HASH,
  templateHash,
  type Condition,
  type ObjectMeta,
  type PodTemplate,
  type Selector,
} from "./workloads.ts";

export interface DeploymentObj {
  metadata: ObjectMeta;
  spec: {
    replicas?: number;
    minReadySeconds?: number;
    selector?: Selector;
    template?: PodTemplate;
    strategy?: { type?: string; rollingUpdate?: { maxUnavailable?: number | string } };
  };
  status?: { conditions?: Condition[] } & Record<string, unknown>;
}

export type ReplicaSetOp =
  | { op: "create"; body: ReplicaSetObj & { apiVersion: string; kind: string } }
  | { op: "scale"; name: string; replicas: number; annotations: Record<string, string> };

export interface DeploymentPlan {
  ops: ReplicaSetOp[];
  /** the Deployment's revision annotation, when it must change */
  revision: string | undefined;
  /** the status to write, or undefined when it is already so */
  status: Record<string, unknown> | undefined;
}

/** EqualIgnoreHash: templates equal once the pod-template-hash label and empty values are left out. */
function equalIgnoreHash(a: PodTemplate | undefined, b: PodTemplate | undefined): boolean {
  const strip = (t: PodTemplate | undefined): PodTemplate => {
    const c = dropEmpty(structuredClone(t ?? {})) as PodTemplate;
    if (c.metadata?.labels !== undefined) delete c.metadata.labels[TEMPLATE_HASH];
    return c;
  };
  return canonical(strip(a)) === canonical(strip(b));
}

const num = (v: unknown) => (typeof v === "number" ? v : 0);
const revisionOf = (rs: ReplicaSetObj) => Number(rs.metadata.annotations?.[REVISION] ?? 0) || 0;

/** intstr.GetScaledValueFromIntOrPercent, rounded down as maxUnavailable is. */
function maxUnavailable(d: DeploymentObj, replicas: number): number {
  if (d.spec.strategy?.type === "Recreate") return 0;
  const v = d.spec.strategy?.rollingUpdate?.maxUnavailable ?? "25%";
  if (typeof v === "number") return v;
  const m = /^(\d+)%$/.exec(v);
  return m === null ? 0 : Math.floor((Number(m[1]) * replicas) / 100);
}

function newReplicaSet(d: DeploymentObj, hash: string, revision: number, replicas: number) {
  const template = structuredClone(d.spec.template ?? {});
  template.metadata = {
    ...template.metadata,
    labels: { ...template.metadata?.labels, [TEMPLATE_HASH]: hash },
  };
  const sel = d.spec.selector ?? {};
  return {
    apiVersion: "apps/v1",
    kind: "ReplicaSet",
    metadata: {
      name: `${d.metadata.name}-${hash}`,
      namespace: d.metadata.namespace,
      labels: { ...d.spec.template?.metadata?.labels, [TEMPLATE_HASH]: hash },
      annotations: { ...sizeAnnotations(d, replicas), [REVISION]: String(revision) },
      ownerReferences: [ownerRef("apps/v1", "Deployment", d.metadata)],
    },
    spec: {
      replicas,
      ...(d.spec.minReadySeconds ? { minReadySeconds: d.spec.minReadySeconds } : {}),
      selector: { ...sel, matchLabels: { ...sel.matchLabels, [TEMPLATE_HASH]: hash } },
      template,
    },
  };
}

const sizeAnnotations = (d: DeploymentObj, replicas: number): Record<string, string> => ({
  "deployment.kubernetes.io/desired-replicas": String(d.spec.replicas ?? 1),
  "deployment.kubernetes.io/max-replicas": String(replicas + Math.ceil(replicas / 4)),
});

function condition(
  previous: Condition[] | undefined,
  type: string,
  status: boolean,
  reason: string,
  message: string,
  now: string,
): Condition {
  const old = previous?.find((c) => c.type === type);
  const s = status ? "True" : "False";
  const same = old?.status === s && old.reason === reason && old.message === message;
  return {
    type,
    status: s,
    lastUpdateTime: same ? (old.lastUpdateTime ?? now) : now,
    lastTransitionTime: old?.status === s ? (old.lastTransitionTime ?? now) : now,
    reason,
    message,
  };
}

export function planDeployment(
  d: DeploymentObj,
  replicaSets: readonly ReplicaSetObj[],
  now: string,
): DeploymentPlan {
  const owned = replicaSets.filter((rs) => controllerOf(rs.metadata)?.uid === d.metadata.uid);
  const replicas = d.spec.replicas ?? 1;
  const hash = templateHash(dropEmpty(structuredClone(d.spec.template ?? {})) as PodTemplate);
  // FindNewReplicaSet: the oldest ReplicaSet whose template equals ours but for the hash label
  // (so `kubectl rollout undo` reuses the old ReplicaSet), by creation then name
  const current = [...owned]
    .sort((a, b) =>
      `${a.metadata.creationTimestamp ?? ""}/${a.metadata.name}`.localeCompare(
        `${b.metadata.creationTimestamp ?? ""}/${b.metadata.name}`,
      ),
    )
    .find((rs) => equalIgnoreHash(rs.spec.template, d.spec.template));
  const old = owned.filter((rs) => rs !== current).sort((a, b) => revisionOf(b) - revisionOf(a));
  const ops: ReplicaSetOp[] = [];
  const newest = Math.max(0, ...old.map(revisionOf));
  // a ReplicaSet brought back (rollback) becomes the newest revision, as the real one does
  const revision = current !== undefined && revisionOf(current) > newest ? revisionOf(current) : newest + 1;
  const annotations = { ...sizeAnnotations(d, replicas), [REVISION]: String(revision) };
  if (current === undefined) ops.push({ op: "create", body: newReplicaSet(d, hash, revision, replicas) });
  else if (
    current.spec.replicas !== replicas ||
    Object.entries(annotations).some(([k, v]) => current.metadata.annotations?.[k] !== v)
  )
    ops.push({ op: "scale", name: current.metadata.name, replicas, annotations });
  // Old Pods may go as new ones become available: old + new available stays >= replicas.
  let allowed = Math.max(0, replicas - num(current?.status?.availableReplicas));
  for (const rs of old) {
    const want = Math.min(rs.spec.replicas ?? 0, allowed);
    allowed -= want;
    if (want !== rs.spec.replicas)
      ops.push({ op: "scale", name: rs.metadata.name, replicas: want, annotations: {} });
  }

  const sum = (f: string) => owned.reduce((n, rs) => n + num(rs.status?.[f]), 0);
  const total = owned.reduce((n, rs) => n + (rs.spec.replicas ?? 0), 0);
  const available = sum("availableReplicas");
  const updated = num(current?.status?.replicas);
  const name = current?.metadata.name ?? `${d.metadata.name}-${hash}`;
  const complete = updated === replicas && sum("replicas") === replicas && available >= replicas;
  const prev = d.status?.conditions;
  const minimum = available >= replicas - maxUnavailable(d, replicas);
  const status = {
    observedGeneration: d.metadata.generation ?? 1,
    ...counts({
      replicas: sum("replicas"),
      updatedReplicas: updated,
      readyReplicas: sum("readyReplicas"),
      availableReplicas: available,
      unavailableReplicas: Math.max(0, total - available),
    }),
    conditions: [
      minimum
        ? condition(
            prev,
            "Available",
            true,
            "MinimumReplicasAvailable",
            "Deployment has minimum availability.",
            now,
          )
        : condition(
            prev,
            "Available",
            false,
            "MinimumReplicasUnavailable",
            "Deployment does not have minimum availability.",
            now,
          ),
      complete
        ? condition(
            prev,
            "Progressing",
            true,
            "NewReplicaSetAvailable",
            `ReplicaSet "${name}" has successfully progressed.`,
            now,
          )
        : current === undefined
          ? condition(
              prev,
              "Progressing",
              true,
              "NewReplicaSetCreated",
              `Created new replica set "${name}"`,
              now,
            )
          : condition(
              prev,
              "Progressing",
              true,
              "ReplicaSetUpdated",
              `ReplicaSet "${name}" is progressing.`,
              now,
            ),
    ],
  };
  return {
    ops,
    revision: d.metadata.annotations?.[REVISION] === String(revision) ? undefined : String(revision),
    status: canonical(status) === canonical(d.status ?? {}) ? undefined : status,
  };
}
