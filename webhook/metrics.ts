// The webhook's own series, on the process registry (runtime/).
import { Counter, Gauge, Histogram, type Registry } from "prom-client";

export interface WebhookMetrics {
  requests: Counter<"path" | "verdict">;
  duration: Histogram<"path" | "verdict">;
  certificateReloads: Counter<"result">;
  certificateExpiry: Gauge;
  overload: Counter<"reason">;
  defaultsReloads: Counter<"result">;
  largeBodies: Gauge<"state">;
}

export function webhookMetrics(registry: Registry): WebhookMetrics {
  const registers = [registry];
  return {
    requests: new Counter({
      name: "kube_nftlb_webhook_admission_requests_total",
      help: "Admission reviews answered, by path (/validate, /mutate, other) and verdict (allowed, patched, denied, errored).",
      labelNames: ["path", "verdict"],
      registers,
    }),
    duration: new Histogram({
      name: "kube_nftlb_webhook_admission_duration_seconds",
      help: "Time from the request's arrival to the answer, body parsing included.",
      labelNames: ["path", "verdict"],
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers,
    }),
    certificateReloads: new Counter({
      name: "kube_nftlb_webhook_certificate_reloads_total",
      help: "Serving certificate loads from disk: result loaded or refused (half-written or mismatched pair).",
      labelNames: ["result"],
      registers,
    }),
    certificateExpiry: new Gauge({
      name: "kube_nftlb_webhook_certificate_expiry_timestamp_seconds",
      help: "notAfter of the serving certificate in use, as a Unix timestamp.",
      registers,
    }),
    overload: new Counter({
      name: "kube_nftlb_webhook_overload_total",
      help: "Requests and connections turned away: reason busy (too many large bodies at once: HTTP 429), timeout (not complete by the deadline: 408, connection closed), connections (over the connection cap: closed at once).",
      labelNames: ["reason"],
      registers,
    }),
    defaultsReloads: new Counter({
      name: "kube_nftlb_webhook_defaults_reloads_total",
      help: "Loads of --defaults-file: result loaded, or refused (unreadable or invalid: the previous defaults stay).",
      labelNames: ["result"],
      registers,
    }),
    largeBodies: new Gauge({
      name: "kube_nftlb_webhook_large_bodies",
      help: "Large request bodies (over 64 KiB or of unknown size): state reading (at most one at a time) or waiting for their turn.",
      labelNames: ["state"],
      registers,
    }),
  };
}
