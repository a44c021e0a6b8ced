// The syncer's HTTP ports: /healthz /readyz /metrics (runtime's probe server, on loopback unless
// --metrics-bind-address says otherwise) and, when --healthz-bind-address is set, kube-proxy's
// health port. Either both listen or neither does.
import { startProbeServer, type ProbeServer, type Registry } from "../runtime/index.ts";
import type { SyncerConfig } from "./config.ts";
import { startProxyHealthServer, type ProxyHealthServer } from "./proxy-health-server.ts";
import type { ProxyStatus } from "./proxy-status.ts";

export interface ProbeServers {
  probes: ProbeServer;
  healthz: ProxyHealthServer | undefined;
}

export async function startProbeServers(
  cfg: SyncerConfig,
  o: { registry: Registry; status: ProxyStatus; ready: () => boolean | string },
): Promise<ProbeServers> {
  const { registry, status, ready } = o;
  const probes = await startProbeServer({
    port: cfg.probePort,
    host: cfg.metricsHost ?? "127.0.0.1",
    registry,
    ready,
  });
  const healthz = cfg.healthzBindAddress
    ? await startProxyHealthServer({
        ...cfg.healthzBindAddress,
        health: status.health,
        metrics: status.metrics,
        ready,
      }).catch(async (err: unknown) => {
        await probes.close();
        throw err;
      })
    : undefined;
  return { probes, healthz };
}
