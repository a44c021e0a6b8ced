// The kube-proxy metrics of its sync loop and health server that syncer/metrics.ts lacks, named
// like kube-proxy's (kubeproxy_* → kube_nftlb_*), types and buckets as kube-proxy's. Updated by
// proxy-status.ts.
import { Counter, Gauge, Histogram, type Registry } from "prom-client";
import { SYNC_BUCKETS } from "./metrics.ts";

export type ProxyMetrics = ReturnType<typeof createProxyMetrics>;

export function createProxyMetrics(registry: Registry) {
  const registers = [registry];
  return {
    fullSync: new Histogram({
      name: "kube_nftlb_sync_full_proxy_rules_duration_seconds",
      help: "Time of one full reconcile (every Service: start, resync, after nftlb restarts or a Node change)",
      buckets: SYNC_BUCKETS,
      registers,
    }),
    partialSync: new Histogram({
      name: "kube_nftlb_sync_partial_proxy_rules_duration_seconds",
      help: "Time of one reconcile of the Services that changed",
      buckets: SYNC_BUCKETS,
      registers,
    }),
    syncFailures: new Counter({
      name: "kube_nftlb_sync_proxy_rules_nftlb_sync_failures_total",
      help: "Reconciles that failed to program nftlb (retried with backoff); kube-proxy's nftables_sync_failures_total",
      registers,
    }),
    noLocalEndpoints: new Gauge({
      name: "kube_nftlb_sync_proxy_rules_no_local_endpoints_total",
      help: "Service ports with a Local traffic policy and endpoints in the cluster but none on this node",
      labelNames: ["traffic_policy"],
      registers,
    }),
    endpointChangesPending: new Gauge({
      name: "kube_nftlb_sync_proxy_rules_endpoint_changes_pending",
      help: "Services whose endpoints changed and are not programmed yet",
      registers,
    }),
    endpointChanges: new Counter({
      name: "kube_nftlb_sync_proxy_rules_endpoint_changes_total",
      help: "EndpointSlice (or Endpoints) changes seen",
      registers,
    }),
    serviceChangesPending: new Gauge({
      name: "kube_nftlb_sync_proxy_rules_service_changes_pending",
      help: "Services that changed and are not programmed yet",
      registers,
    }),
    serviceChanges: new Counter({
      name: "kube_nftlb_sync_proxy_rules_service_changes_total",
      help: "Service changes seen",
      registers,
    }),
    healthz: new Counter({
      name: "kube_nftlb_proxy_healthz_total",
      help: "Answers of the proxy's /healthz by HTTP code",
      labelNames: ["code"],
      registers,
    }),
    livez: new Counter({
      name: "kube_nftlb_proxy_livez_total",
      help: "Answers of the proxy's /livez by HTTP code",
      labelNames: ["code"],
      registers,
    }),
  };
}
