// Shared by reconcile.test.ts and worker.test.ts: a tiny cluster (Services and EndpointSlices by
// key, desired() for real), the fake nftlb, and a worker running on fake timers.
import { Reconciler, type ReconcilerDeps } from "./reconcile.ts";
import { runWorker, type WorkerOptions } from "./worker.ts";
import { KeyQueue } from "./queue.ts";
import { FakeNftlb } from "./fake-nftlb.ts";
import { desired } from "./desired.ts";
import { splitKey, triggerTimes, type ClusterView } from "./cluster.ts";
import { FakeTimers, settle } from "../kube/fake-timers.ts";
import type { Farm } from "../nftlb/types.ts";
import type { ConntrackCleaner } from "./conntrack-tool.ts";
import type { SyncerMetrics } from "./metrics.ts";

export const PREFIX = "service.kubernetes.io/kube-nftlb-load-balancer-";

export function service(ns: string, name: string, ip: string, annotations: Record<string, string> = {}) {
  return {
    metadata: { namespace: ns, name, uid: `uid-${name}`, annotations },
    spec: {
      type: "ClusterIP",
      clusterIP: ip,
      clusterIPs: [ip],
      ports: [{ name: "http", port: 80, protocol: "TCP" }],
    },
  };
}

export function slice(ns: string, svc: string, ips: string[], trigger?: string) {
  return {
    metadata: {
      namespace: ns,
      name: `${svc}-abc`,
      labels: { "kubernetes.io/service-name": svc },
      ...(trigger ? { annotations: { "endpoints.kubernetes.io/last-change-trigger-time": trigger } } : {}),
    },
    addressType: "IPv4",
    endpoints: ips.map((ip) => ({ addresses: [ip], conditions: { ready: true } })),
    ports: [{ name: "http", port: 8080, protocol: "TCP" }],
  };
}

/** A tiny cluster: Services and EndpointSlices by key, desired() for real. */
export class Cluster implements ClusterView {
  services = new Map<string, ReturnType<typeof service>>();
  slices = new Map<string, ReturnType<typeof slice>>();
  serviceKeys = () => [...this.services.keys()];
  desiredFor = (key: string) => {
    const s = this.services.get(key);
    const sl = this.slices.get(key);
    return s && desired(s, sl ? [sl] : [], { name: "node-1", addresses: ["192.168.0.1"] });
  };
  serviceRef = (key: string) => {
    const [namespace, name] = splitKey(key);
    return this.services.has(key) ? { kind: "Service", namespace, name } : undefined;
  };
  triggerTimes = (key: string) => triggerTimes(this.slices.has(key) ? [this.slices.get(key)!] : []);
  put(ns: string, name: string, ip: string, backends: string[], annotations: Record<string, string> = {}) {
    this.services.set(`${ns}/${name}`, service(ns, name, ip, annotations));
    this.slices.set(`${ns}/${name}`, slice(ns, name, backends));
  }
}

export function setup(
  opts: {
    nftlbMemoryBytes?: number;
    conntrack?: ConntrackCleaner;
    metrics?: SyncerMetrics;
    worker?: WorkerOptions;
  } & Pick<ReconcilerDeps, "nodeRules" | "farmShare" | "trace"> = {},
) {
  const { worker: workerOptions, ...deps } = opts;
  const timers = new FakeTimers();
  const queue = new KeyQueue({ timers, backoffBaseMs: 100, backoffCapMs: 1_000 });
  const nftlb = new FakeNftlb();
  const cluster = new Cluster();
  const events: string[] = [];
  const logs: string[] = [];
  const log = {
    info: (_o: object, m: string) => logs.push(`info ${m}`),
    warn: (_o: object, m: string) => logs.push(`warn ${m}`),
    error: (_o: object, m: string) => logs.push(`error ${m}`),
  };
  const reconciler = new Reconciler({
    nftlb,
    view: cluster,
    isParked: (key) => queue.isParked(key),
    log,
    events: {
      record: (ref, type, reason, message) => {
        events.push(`${type} ${ref.namespace}/${ref.name} ${reason}: ${message}`);
        return Promise.resolve();
      },
    },
    ...deps,
  });
  const worker = runWorker(queue, reconciler, workerOptions);
  /** Let the worker run every ready batch. */
  const run = async (ms = 0) => {
    await timers.advance(ms);
    await settle();
    await timers.advance(0);
  };
  const stop = async () => {
    await queue.shutDown();
    await worker;
  };
  return { timers, queue, nftlb, cluster, events, logs, reconciler, run, stop };
}

export const backends = (f: Farm | undefined) => (f?.backends ?? []).map((b) => b["ip-addr"]).sort();
