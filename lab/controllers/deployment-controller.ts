// The lab's Deployment and ReplicaSet controllers (kube-controller-manager's, in small), one work
// loop keyed `Deployment/ns/name` and `ReplicaSet/ns/name`: each key is reconciled from the
// store to planDeployment / planReplicaSet and written through the API. The stand-in has no
// garbage collector, so deleting a Deployment or a ReplicaSet removes what it controlled here.
import type { ApiClient } from "../cluster/api-client.ts";
import { MERGE_PATCH } from "../cluster/api-client.ts";
import { planDeployment, type DeploymentObj } from "./deployments.ts";
import type { Source } from "./endpointslice-controller.ts";
import { planReplicaSet, type ReplicaSetObj } from "./replicasets.ts";
import { workLoop } from "./work.ts";
import { controllerOf, orphansOf, REVISION, type WorkloadPod } from "./workloads.ts";

export interface DeploymentControllerOptions {
  deployments: Source<DeploymentObj>;
  replicaSets: Source<ReplicaSetObj>;
  pods: Source<WorkloadPod>;
  api: ApiClient;
  log: (line: string) => void;
  clock?: () => number;
}

export interface DeploymentController {
  idle(): Promise<void>;
  stop(): void;
}

const APPS = (ns: string, plural: string) => `/apis/apps/v1/namespaces/${ns}/${plural}`;
const PODS = (ns: string) => `/api/v1/namespaces/${ns}/pods`;
const RS_STATUS = ["replicas", "fullyLabeledReplicas", "readyReplicas", "availableReplicas"];
const DEPLOY_STATUS = [...RS_STATUS, "updatedReplicas", "unavailableReplicas"];

/** A merge patch of `status` that also clears the omitempty counts that went to zero. */
const statusPatch = (status: Record<string, unknown>, fields: string[]) => ({
  status: { ...Object.fromEntries(fields.map((f) => [f, null])), ...status },
});

export function startDeploymentController(o: DeploymentControllerOptions): DeploymentController {
  const now = o.clock ?? Date.now;
  const must = async (method: string, path: string, body?: unknown, type?: string) => {
    const r = await o.api.request(method, path, body, type);
    // gone meanwhile, or created by an earlier pass: the next event brings the key back
    if (!r.ok && r.status !== 404 && !(method === "POST" && r.status === 409)) throw new Error(r.error);
    return r;
  };
  const patch = (path: string, body: unknown) => must("PATCH", path, body, MERGE_PATCH);
  const removeAll = async (path: string, names: string[]) => {
    for (const n of names) await must("DELETE", `${path}/${n}`, { propagationPolicy: "Background" });
  };

  const deployment = async (ns: string, name: string): Promise<undefined> => {
    const d = o.deployments.get(ns, name);
    const rsAll = o.replicaSets.list(ns);
    const orphans = orphansOf(rsAll, "Deployment", name, d?.metadata.uid).map((rs) => rs.metadata.name);
    await removeAll(APPS(ns, "replicasets"), orphans);
    if (d === undefined || d.metadata.deletionTimestamp !== undefined) return undefined;
    const plan = planDeployment(d, rsAll, new Date(now()).toISOString().replace(/\.\d+Z$/, "Z"));
    for (const op of plan.ops) {
      if (op.op === "create") await must("POST", APPS(ns, "replicasets"), op.body);
      else {
        const meta =
          Object.keys(op.annotations).length > 0 ? { metadata: { annotations: op.annotations } } : {};
        await patch(`${APPS(ns, "replicasets")}/${op.name}`, { ...meta, spec: { replicas: op.replicas } });
      }
    }
    if (plan.revision !== undefined)
      await patch(`${APPS(ns, "deployments")}/${name}`, {
        metadata: { annotations: { [REVISION]: plan.revision } },
      });
    if (plan.status !== undefined)
      await patch(`${APPS(ns, "deployments")}/${name}/status`, statusPatch(plan.status, DEPLOY_STATUS));
    if (plan.ops.length > 0)
      o.log(
        `deployment ${ns}/${name}: ${plan.ops.map((x) => (x.op === "create" ? `create ${x.body.metadata.name}` : `scale ${x.name} to ${x.replicas}`)).join(", ")}`,
      );
    return undefined;
  };

  const replicaSet = async (ns: string, name: string): Promise<number | undefined> => {
    const rs = o.replicaSets.get(ns, name);
    const pods = o.pods.list(ns);
    await removeAll(
      PODS(ns),
      orphansOf(pods, "ReplicaSet", name, rs?.metadata.uid).map((p) => p.metadata.name),
    );
    if (rs === undefined || rs.metadata.deletionTimestamp !== undefined) return undefined;
    const plan = planReplicaSet(rs, pods, now());
    for (const body of plan.create) await must("POST", PODS(ns), body);
    await removeAll(PODS(ns), plan.delete);
    if (plan.status !== undefined)
      await patch(`${APPS(ns, "replicasets")}/${name}/status`, statusPatch(plan.status, RS_STATUS));
    if (plan.create.length + plan.delete.length > 0)
      o.log(`replicaset ${ns}/${name}: ${plan.create.length} created, ${plan.delete.length} deleted`);
    return plan.recheckAt;
  };

  const loop = workLoop(
    async (key) => {
      const [kind = "", ns = "", name = ""] = key.split("/");
      return kind === "Deployment" ? deployment(ns, name) : replicaSet(ns, name);
    },
    { concurrency: 4, onError: (key, err) => o.log(`${key}: ${(err as Error).message} (retrying)`) },
  );
  const nsOf = (m: { namespace?: string }) => m.namespace ?? "default";
  const owner = (m: DeploymentObj["metadata"], kind: string) => {
    const c = controllerOf(m);
    if (c?.kind === kind) loop.add(`${kind}/${nsOf(m)}/${c.name}`);
  };
  const stops = [
    o.deployments.watch((d) => loop.add(`Deployment/${nsOf(d.metadata)}/${d.metadata.name}`)),
    o.replicaSets.watch((rs) => {
      loop.add(`ReplicaSet/${nsOf(rs.metadata)}/${rs.metadata.name}`);
      owner(rs.metadata, "Deployment");
    }),
    o.pods.watch((p) => owner(p.metadata, "ReplicaSet")),
  ];
  for (const d of o.deployments.list()) loop.add(`Deployment/${nsOf(d.metadata)}/${d.metadata.name}`);
  for (const rs of o.replicaSets.list()) loop.add(`ReplicaSet/${nsOf(rs.metadata)}/${rs.metadata.name}`);
  return {
    idle: () => loop.idle(),
    stop: () => {
      for (const s of stops) s();
      loop.stop();
    },
  };
}
