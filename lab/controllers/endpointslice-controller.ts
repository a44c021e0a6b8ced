// The lab's EndpointSlice controller: watches Services, Pods and its own slices, and keeps each
// selector Service's slices equal to desiredSlices(Service, Pods), writing through the API.
// Keys, not events: any change enqueues `namespace/service`; the work loop coalesces.
import type { ApiClient } from "../cluster/api-client.ts";
import { workLoop } from "./work.ts";
import { desiredSlices, type Pod, type ServiceForSlices } from "./endpointslices.ts";
import {
  planSlices,
  MANAGED_BY,
  MANAGED_BY_LABEL,
  SERVICE_NAME_LABEL,
  type SliceObject,
} from "./endpointslice-sync.ts";

export interface Source<T> {
  get(namespace: string, name: string): T | undefined;
  /** `where` picks before copying: what an informer's index lookup costs, not a copy of all. */
  list(namespace?: string, where?: (obj: T) => boolean): T[];
  /** every change, with the object (after, or as it was when deleted) */
  watch(onChange: (obj: T) => void): () => void;
}

type Service = ServiceForSlices & { spec: ServiceForSlices["spec"] & { clusterIP?: string } };

export interface EndpointSliceControllerOptions {
  services: Source<Service>;
  pods: Source<Pod>;
  slices: Source<SliceObject>;
  /** Nodes, for the endpoints' zones (topology.kubernetes.io/zone); none: no zones. */
  nodes?: Source<{ metadata: { name: string; labels?: Record<string, string> } }>;
  api: ApiClient;
  log: (line: string) => void;
  clock?: () => number;
}

export interface EndpointSliceController {
  idle(): Promise<void>;
  stop(): void;
}

const ZONE_LABEL = "topology.kubernetes.io/zone";

const base = (ns: string) => `/apis/discovery.k8s.io/v1/namespaces/${ns}/endpointslices`;

export function startEndpointSliceController(o: EndpointSliceControllerOptions): EndpointSliceController {
  const now = o.clock ?? Date.now;
  /** When the change a key is waiting for happened: the slice's last-change-trigger-time. */
  const triggers = new Map<string, number>();
  const enqueue = (ns: string, name: string) => {
    const key = `${ns}/${name}`;
    if (!triggers.has(key)) triggers.set(key, now());
    loop.add(key);
  };

  const reconcile = async (key: string): Promise<undefined> => {
    const [ns = "", name = ""] = key.split("/");
    const trigger = new Date(triggers.get(key) ?? now()).toISOString();
    triggers.delete(key);
    const svc = o.services.get(ns, name);
    const existing = o.slices.list(ns, (s) => s.metadata.labels?.[SERVICE_NAME_LABEL] === name);
    const zoneOf = (node: string) => o.nodes?.get("", node)?.metadata.labels?.[ZONE_LABEL];
    const desired = svc === undefined ? undefined : desiredSlices(svc, o.pods.list(ns), zoneOf);
    const ops = planSlices(svc, desired, existing, trigger);
    for (const op of ops) {
      const r =
        op.op === "create"
          ? await o.api.request("POST", base(ns), op.body)
          : op.op === "update"
            ? await o.api.request("PUT", `${base(ns)}/${op.name}`, op.body)
            : await o.api.request("DELETE", `${base(ns)}/${op.name}`);
      if (!r.ok && !(op.op === "delete" && r.status === 404)) throw new Error(r.error);
    }
    if (ops.length > 0) o.log(`endpointslices ${key}: ${ops.map((x) => x.op).join(", ")}`);
    return undefined;
  };

  const loop = workLoop(reconcile, {
    concurrency: 4,
    onError: (key, err) => o.log(`endpointslices ${key}: ${(err as Error).message} (retrying)`),
  });
  const nsOf = (m: { namespace?: string }) => m.namespace ?? "default";
  const stops = [
    o.services.watch((s) => enqueue(nsOf(s.metadata), s.metadata.name)),
    o.pods.watch((p) => {
      for (const s of o.services.list(nsOf(p.metadata))) enqueue(nsOf(s.metadata), s.metadata.name);
    }),
    // A node's zone is in every endpoint on it: any node change re-checks every Service.
    o.nodes?.watch(() => {
      for (const s of o.services.list()) enqueue(nsOf(s.metadata), s.metadata.name);
    }) ?? (() => undefined),
    o.slices.watch((s) => {
      const svc = s.metadata.labels?.[SERVICE_NAME_LABEL];
      if (svc !== undefined && s.metadata.labels?.[MANAGED_BY_LABEL] === MANAGED_BY)
        enqueue(nsOf(s.metadata), svc);
    }),
  ];
  for (const s of o.services.list()) enqueue(nsOf(s.metadata), s.metadata.name);
  return {
    idle: () => loop.idle(),
    stop: () => {
      for (const s of stops) s();
      loop.stop();
    },
  };
}
