// /healthz, /readyz and /metrics on a plain-HTTP port, apart from the serving port, so kubelet
// and Prometheus need no certificate and a TLS problem never looks like a dead process.
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { Registry } from "prom-client";

export interface ProbeOptions {
  port: number;
  host?: string;
  registry: Registry;
  /**
   * Answers /readyz: true, or false ("send me no traffic": not loaded yet, or draining), or why
   * not in an operator's words, which the 503's body gives (it must hold no secret).
   */
  ready: () => boolean | string;
  /** Answers /healthz; true unless the process should be restarted. */
  live?: () => boolean;
}

export interface ProbeServer {
  port: number;
  close(): Promise<void>;
}

export async function startProbeServer(opts: ProbeOptions): Promise<ProbeServer> {
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? "/").split("?")[0];
    const reply = (code: number, body: string, type = "text/plain; charset=utf-8"): void => {
      res.writeHead(code, { "content-type": type, "cache-control": "no-store" }).end(body);
    };
    if (req.method !== "GET" && req.method !== "HEAD") return reply(405, "method not allowed\n");
    if (path === "/healthz") return (opts.live?.() ?? true) ? reply(200, "ok\n") : reply(503, "unhealthy\n");
    if (path === "/readyz") {
      const r = readyzAnswer(opts.ready());
      return reply(r.status, r.body);
    }
    if (path === "/metrics") {
      opts.registry.metrics().then(
        (text) => reply(200, text, opts.registry.contentType),
        (err: unknown) => reply(500, `metrics failed: ${String(err)}\n`),
      );
      return;
    }
    reply(404, "not found\n");
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(opts.port, opts.host ?? "0.0.0.0", () => resolve());
  });
  return { port: (server.address() as AddressInfo).port, close: () => closeServer(server) };
}

/** /readyz's answer to what `ready` says: 200 "ok", or 503 "not ready", with the reason when given. */
export const readyzAnswer = (ready: boolean | string): { status: number; body: string } =>
  ready === true
    ? { status: 200, body: "ok\n" }
    : { status: 503, body: ready === false || ready === "" ? "not ready\n" : `not ready: ${ready}\n` };

/** Stops listening and drops keep-alive connections, so close never waits on an idle client. */
export const closeServer = (server: Server): Promise<void> =>
  new Promise<void>((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
