// kube-proxy's health port (--healthz-bind-address, default 0.0.0.0:10256): /healthz and /livez
// as proxy-health.ts decides them, for cloud load balancers (externalTrafficPolicy: Cluster) and
// kubelet; plus kube-nftlb's /readyz, so the DaemonSet's probes need only this port while
// /metrics stays on loopback. Plain HTTP, GET only.
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { closeServer, readyzAnswer } from "../runtime/index.ts";
import type { ProxyHealth } from "./proxy-health.ts";
import type { ProxyMetrics } from "./proxy-metrics.ts";

export interface ProxyHealthServer {
  port: number;
  close(): Promise<void>;
}

export async function startProxyHealthServer(o: {
  host: string;
  port: number;
  health: ProxyHealth;
  metrics: ProxyMetrics;
  /** true, or why not (runtime's readyzAnswer). */
  ready: () => boolean | string;
}): Promise<ProxyHealthServer> {
  const server = createServer((req, res) => {
    const path = (req.url ?? "/").split("?")[0];
    const json = { "content-type": "application/json", "x-content-type-options": "nosniff" };
    if (req.method !== "GET" && req.method !== "HEAD")
      return void res.writeHead(405).end("method not allowed\n");
    if (path === "/healthz" || path === "/livez") {
      const a = path === "/healthz" ? o.health.healthz() : o.health.livez();
      (path === "/healthz" ? o.metrics.healthz : o.metrics.livez).inc({ code: String(a.status) });
      return void res.writeHead(a.status, json).end(a.body);
    }
    if (path === "/readyz") {
      const r = readyzAnswer(o.ready());
      return void res.writeHead(r.status, { "content-type": "text/plain; charset=utf-8" }).end(r.body);
    }
    res.writeHead(404).end("not found\n");
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", (err: NodeJS.ErrnoException) =>
      reject(new Error(`--healthz-bind-address ${o.host}:${o.port}: ${err.code ?? err.message}`)),
    );
    server.listen(o.port, o.host, () => resolve());
  });
  return { port: (server.address() as AddressInfo).port, close: () => closeServer(server) };
}
