// The syncer's nftlb client: one connection per request (nftlb's habit), a ping on a shorter
// timeout than a write, metered; optionally traced (benchmarks) or wrapped (tests, benchmarks).
import { createNftlbClient, type NftlbClient } from "../nftlb/index.ts";
import { createTransport } from "../nftlb/transport.ts";
import type { Logger } from "../runtime/index.ts";
import type { SyncerConfig } from "./config.ts";
import type { SyncerMetrics } from "./metrics.ts";
import { meteredNftlb } from "./nftlb-metered.ts";
import { tracedSend, type SyncTrace } from "./trace.ts";

export interface NftlbConnectionDeps {
  log: Logger;
  metrics: SyncerMetrics;
  /** Replace the nftlb client (benchmarks: a fake sink; tests: a counting wrapper). */
  wrapNftlb?: (client: NftlbClient) => NftlbClient;
  /** Stage timestamps of every change (benchmarks: where the latency goes). */
  trace?: SyncTrace;
}

export function connectNftlb(cfg: SyncerConfig, deps: NftlbConnectionDeps): NftlbClient {
  const { log, metrics } = deps;
  const transport = { url: cfg.nftlbUrl, key: cfg.nftlbKey, timeoutMs: cfg.nftlbTimeoutMs };
  // A probe waits at most one probe period (at least 1 s, at most a write's timeout): a hung
  // nftlb turns nftlb_up to 0 and /readyz false within two periods.
  const pingTimeoutMs = Math.min(Math.max(cfg.nftlbProbeMs, 1_000), cfg.nftlbTimeoutMs);
  const client = createNftlbClient({
    ...transport,
    pingTimeoutMs,
    log,
    ...(deps.trace
      ? {
          send: tracedSend(createTransport(transport), deps.trace),
          pingSend: createTransport({ ...transport, timeoutMs: pingTimeoutMs, serial: false }),
        }
      : {}),
  });
  return meteredNftlb(deps.wrapNftlb ? deps.wrapNftlb(client) : client, metrics);
}
