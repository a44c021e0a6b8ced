// The syncer's metrics, named like kube-proxy's (kubeproxy_* → kube_nftlb_*) with the same
// buckets, so the same PromQL and dashboards work. Histograms, never summaries.
import { Counter, Gauge, Histogram, type Registry } from "prom-client";

/** kube-proxy: ExponentialBuckets(0.001, 2, 15): 1 ms … ~16 s. */
export const SYNC_BUCKETS = Array.from({ length: 15 }, (_, i) => 0.001 * 2 ** i);
/** kube-proxy: 0.25, 0.5, 1..59 step 1, 60..115 step 5, 120..300 step 30. */
const PROGRAMMING_BUCKETS = [
  0.25,
  0.5,
  ...Array.from({ length: 59 }, (_, i) => i + 1),
  ...Array.from({ length: 12 }, (_, i) => 60 + 5 * i),
  ...Array.from({ length: 7 }, (_, i) => 120 + 30 * i),
];
const REQUEST_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

export type SyncerMetrics = ReturnType<typeof createSyncerMetrics>;

export function createSyncerMetrics(registry: Registry) {
  const registers = [registry];
  return {
    syncDuration: new Histogram({
      name: "kube_nftlb_sync_proxy_rules_duration_seconds",
      help: "Time of one reconcile of a batch of Services, from taking the batch to nftlb answering the last write",
      buckets: SYNC_BUCKETS,
      labelNames: ["full"],
      registers,
    }),
    lastSync: new Gauge({
      name: "kube_nftlb_sync_proxy_rules_last_timestamp_seconds",
      help: "When the last successful reconcile finished (unix seconds)",
      registers,
    }),
    lastQueued: new Gauge({
      name: "kube_nftlb_sync_proxy_rules_last_queued_timestamp_seconds",
      help: "When a change was last queued (unix seconds); far ahead of last_timestamp means the syncer is stuck",
      registers,
    }),
    programming: new Histogram({
      name: "kube_nftlb_network_programming_duration_seconds",
      help: "From an EndpointSlice's endpoints.kubernetes.io/last-change-trigger-time to its rules being in nftlb",
      buckets: PROGRAMMING_BUCKETS,
      registers,
    }),
    queueDepth: new Gauge({
      name: "kube_nftlb_queue_depth",
      help: "Service keys waiting to be reconciled",
      registers,
    }),
    queueRetrying: new Gauge({
      name: "kube_nftlb_queue_retrying",
      help: "Service keys waiting out a backoff after a retryable failure",
      registers,
    }),
    syncErrors: new Counter({
      name: "kube_nftlb_sync_errors_total",
      help: "Reconciles that threw (a bug or an answer nobody foresaw): each is logged and its batch retried with backoff",
      registers,
    }),
    parked: new Gauge({
      name: "kube_nftlb_services_parked",
      help: "Services whose farms nftlb refused: not retried until the Service changes",
      registers,
    }),
    requests: new Counter({
      name: "kube_nftlb_nftlb_requests_total",
      help: "Calls to nftlb's REST API by operation and result (ok, terminal, retryable, fatal)",
      labelNames: ["operation", "result"],
      registers,
    }),
    requestDuration: new Histogram({
      name: "kube_nftlb_nftlb_request_duration_seconds",
      help: "Latency of calls to nftlb's REST API by operation",
      labelNames: ["operation"],
      buckets: REQUEST_BUCKETS,
      registers,
    }),
    farms: new Gauge({
      name: "kube_nftlb_farms_programmed",
      help: "Farms kube-nftlb has in nftlb",
      registers,
    }),
    backends: new Gauge({
      name: "kube_nftlb_backends_programmed",
      help: "Backends in nftlb, all farms",
      registers,
    }),
    backendLimit: new Gauge({
      name: "kube_nftlb_backends_limit",
      help: "Backends one nftlb farm can hold (connection marks 0x002-0xfff, assigned by kube-nftlb)",
      registers,
    }),
    memoryLimit: new Gauge({
      name: "kube_nftlb_nftlb_memory_limit_bytes",
      help: "The nftlb container's memory limit the syncer keeps nftlb's estimated memory under",
      registers,
    }),
    addresses: new Gauge({
      name: "kube_nftlb_farm_addresses",
      help: "Farm addresses (VIP:port) in nftlb",
      registers,
    }),
    addressBytes: new Gauge({
      name: "kube_nftlb_nftlb_address_memory_bytes",
      help: "Estimated nftlb memory (~256 KiB per farm address: a 65,535-entry port array, plus backends)",
      registers,
    }),
    addressesInUse: new Gauge({
      name: "kube_nftlb_addresses_in_use",
      help: "Addresses Services need that a farm kube-nftlb does not own holds (AddressInUse)",
      registers,
    }),
    upstreamFarms: new Gauge({
      name: "kube_nftlb_upstream_farms",
      help: "Farms named like the original kube-nftlb's holding addresses Services need",
      registers,
    }),
    refusals: new Counter({
      name: "kube_nftlb_capacity_refusals_total",
      help: "Changes refused for nftlb's capacity, by reason (backends-per-farm, memory)",
      labelNames: ["reason"],
      registers,
    }),
    nftlbRestarts: new Counter({
      name: "kube_nftlb_nftlb_restarts_total",
      help: "nftlb restarts noticed (its farms were gone) and re-programmed",
      registers,
    }),
    nftlbUp: new Gauge({
      name: "kube_nftlb_nftlb_up",
      help: "1 when nftlb answered the last probe",
      registers,
    }),
    informerRestarts: new Gauge({
      name: "kube_nftlb_informer_restarts",
      help: "Times an informer was restarted after an error",
      labelNames: ["informer"],
      registers,
    }),
    informerRelists: new Gauge({
      name: "kube_nftlb_informer_relists",
      help: "Periodic full relists completed per informer",
      labelNames: ["informer"],
      registers,
    }),
    defaultsReloads: new Counter({
      name: "kube_nftlb_defaults_reloads_total",
      help: "Loads of --defaults-file: result loaded, or refused (unreadable or invalid: the previous defaults stay)",
      labelNames: ["result"],
      registers,
    }),
  };
}
