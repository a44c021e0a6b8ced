// One prom-client registry per process, with Node's default metrics, served by the probe server.
import { Registry, collectDefaultMetrics } from "prom-client";

export { Registry };

export interface MetricsOptions {
  /** Prefix of the default process metrics, e.g. "kube_nftlb_webhook_". */
  prefix?: string;
  /** Node's process and GC metrics; off in unit tests that only read their own series. */
  defaultMetrics?: boolean;
}

export function createRegistry(opts: MetricsOptions = {}): Registry {
  const registry = new Registry();
  if (opts.defaultMetrics ?? true) collectDefaultMetrics({ register: registry, prefix: opts.prefix ?? "" });
  return registry;
}
