// What kube-nftlb tells the outside about its sync loop, as kube-proxy does: proxy health
// (proxy-health.ts), the healthCheckNodePort servers (node-local.ts, health-check-servers.ts) and
// the sync-loop metrics (proxy-metrics.ts). run.ts feeds it the changes the informers see, the
// Node, and every batch the worker syncs.
import type { V1Endpoints, V1Node, V1Service } from "@kubernetes/client-node";
import type { ProxyScope } from "../annotations/index.ts";
import type { Sources } from "../kube/sources.ts";
import type { Registry } from "../runtime/index.ts";
import { nodeInfo, splitKey } from "./cluster.ts";
import { groupsFromSlices, type EndpointGroup } from "./endpoints.ts";
import { groupsFromEndpoints } from "./endpoints-v1.ts";
import { HealthCheckServers, type HealthCheckServerDeps } from "./health-check-servers.ts";
import { nodeLocal, type HealthCheck, type NodeLocal } from "./node-local.ts";
import { ProxyHealth } from "./proxy-health.ts";
import { createProxyMetrics, type ProxyMetrics } from "./proxy-metrics.ts";
import { FULL } from "./reconcile.ts";
import type { BatchReconciler } from "./worker.ts";
import { succeeded } from "./outcome.ts";

/** The cluster as the status needs it: Service keys and, per key, what this node has of it. */
export interface LocalView {
  serviceKeys(): string[];
  /** Undefined when the Service is gone. */
  local(key: string): NodeLocal | undefined;
  nodeAddresses(): readonly string[];
}

export function informerLocalView(sources: Sources, nodeName: string, scope: ProxyScope): LocalView {
  return {
    serviceKeys: () =>
      sources.services.list().map((s) => `${s.metadata?.namespace ?? ""}/${s.metadata?.name ?? ""}`),
    local(key) {
      const [ns, name] = splitKey(key);
      const svc: V1Service | undefined = sources.services.get(name, ns);
      if (svc === undefined) return undefined;
      let groups: EndpointGroup[];
      if (sources.endpointsApi === "slices") {
        groups = groupsFromSlices(sources.endpoints.byIndex(key), ns, name);
      } else {
        const eps = (sources.endpoints as { get(n: string, ns: string): V1Endpoints | undefined }).get(
          name,
          ns,
        );
        groups = groupsFromEndpoints(eps ? [eps] : [], ns, name);
      }
      return nodeLocal(svc, groups, nodeName, scope);
    },
    nodeAddresses: () => nodeInfo(nodeName, sources.node.get(nodeName)).addresses,
  };
}

export interface ProxyStatusOptions {
  registry: Registry;
  view: LocalView;
  /** How old the oldest unprogrammed change may get before /healthz says 503. */
  healthzTimeoutMs: number;
  nodeName: string;
  events: HealthCheckServerDeps["events"];
  log: HealthCheckServerDeps["log"];
  now?: () => number;
}

export class ProxyStatus {
  readonly health: ProxyHealth;
  readonly metrics: ProxyMetrics;
  readonly healthChecks: HealthCheckServers;
  readonly #view: LocalView;
  readonly #local = new Map<string, NodeLocal>();
  readonly #wanted = new Map<string, HealthCheck>();
  readonly #pending = { services: new Set<string>(), endpoints: new Set<string>() };
  readonly #noLocal = { internal: 0, external: 0 };

  constructor(o: ProxyStatusOptions) {
    this.#view = o.view;
    this.health = new ProxyHealth({ timeoutMs: o.healthzTimeoutMs, ...(o.now ? { now: o.now } : {}) });
    this.metrics = createProxyMetrics(o.registry);
    this.healthChecks = new HealthCheckServers({
      addresses: () => o.view.nodeAddresses(),
      proxyHealthy: () => this.health.healthy(),
      nodeName: o.nodeName,
      events: o.events,
      log: o.log,
    });
    this.#report();
  }

  serviceChanged(key: string): void {
    this.metrics.serviceChanges.inc();
    this.#pending.services.add(key);
    this.health.queued();
    this.#report();
  }

  endpointsChanged(key: string): void {
    this.metrics.endpointChanges.inc();
    this.#pending.endpoints.add(key);
    this.health.queued();
    this.#report();
  }

  nodeChanged(node: V1Node | undefined): void {
    this.health.node(node);
    this.health.queued();
  }

  /** What the worker runs: each batch through the reconciler, then reported here. */
  reporting(reconciler: BatchReconciler): BatchReconciler {
    return {
      sync: async (batch) => {
        const t0 = performance.now();
        let ok = false;
        try {
          const outcomes = await reconciler.sync(batch);
          ok = succeeded(outcomes);
          return outcomes;
        } finally {
          // A reconcile that threw is a failed sync too (the worker retries it).
          await this.synced(batch, ok, (performance.now() - t0) / 1000);
        }
      },
    };
  }

  /** After the worker synced `batch`: `ok` when nftlb took every write. */
  async synced(batch: readonly string[], ok: boolean, seconds: number): Promise<void> {
    const full = batch.includes(FULL);
    (full ? this.metrics.fullSync : this.metrics.partialSync).observe(seconds);
    if (!ok) {
      this.metrics.syncFailures.inc();
    } else {
      this.health.updated();
      for (const set of [this.#pending.services, this.#pending.endpoints]) {
        if (full) set.clear();
        else for (const k of batch) set.delete(k);
      }
    }
    const keys = full ? new Set([...this.#view.serviceKeys(), ...this.#local.keys()]) : batch;
    for (const key of keys) this.#recompute(key);
    this.#report();
    await this.healthChecks.sync(this.#wanted);
  }

  close(): Promise<void> {
    return this.healthChecks.close();
  }

  #recompute(key: string): void {
    const old = this.#local.get(key);
    if (old !== undefined) {
      this.#noLocal.internal -= old.noLocalEndpoints.internal;
      this.#noLocal.external -= old.noLocalEndpoints.external;
    }
    const now = this.#view.local(key);
    if (now === undefined) {
      this.#local.delete(key);
      this.#wanted.delete(key);
      return;
    }
    this.#local.set(key, now);
    this.#noLocal.internal += now.noLocalEndpoints.internal;
    this.#noLocal.external += now.noLocalEndpoints.external;
    if (now.healthCheck) this.#wanted.set(key, now.healthCheck);
    else this.#wanted.delete(key);
  }

  #report(): void {
    this.metrics.serviceChangesPending.set(this.#pending.services.size);
    this.metrics.endpointChangesPending.set(this.#pending.endpoints.size);
    this.metrics.noLocalEndpoints.set({ traffic_policy: "internal" }, this.#noLocal.internal);
    this.metrics.noLocalEndpoints.set({ traffic_policy: "external" }, this.#noLocal.external);
  }
}
