// The webhook process: HTTPS (TLS 1.2+) serving the app with a certificate reloaded from disk,
// and the probe port. Startable in-process (tests, benchmarks); cli/webhook.ts is a thin wrapper.
import { createServer, type Server } from "node:https";
import type { AddressInfo, Socket } from "node:net";
import type { Logger } from "pino";
import {
  BUILTIN_DEFAULTS,
  DEFAULT_SCOPE,
  parseDefaultsYaml,
  type ClusterDefaults,
  type ProxyScope,
} from "../annotations/index.ts";
import {
  createLogger,
  createRegistry,
  startProbeServer,
  watchFiles,
  type Registry,
  type WatchedFiles,
} from "../runtime/index.ts";
import { createApp, MAX_BODY_BYTES, REQUEST_TIMEOUT_MS } from "./app.ts";
import { watchCertificate } from "./certificate.ts";
import { webhookMetrics } from "./metrics.ts";

export interface WebhookOptions {
  tlsCert: string;
  tlsKey: string;
  /** 0 picks a free port (tests). */
  port?: number;
  probePort?: number;
  host?: string;
  defaults?: ClusterDefaults;
  /** Cluster defaults from a YAML file, re-read when it changes (over `defaults`). */
  defaultsFile?: string;
  scope?: ProxyScope;
  log?: Logger;
  registry?: Registry;
  certificatePollMs?: number;
  /** On close, stay up but unready this long first, so endpoints drop us before we stop accepting. */
  shutdownDelayMs?: number;
  /** On close, in-flight requests get this long before their connections are cut. */
  drainTimeoutMs?: number;
  maxBodyBytes?: number;
  /** From a request's first byte to its answer; the apiserver's shorter `?timeout=` wins. */
  requestTimeoutMs?: number;
  /** From a connection's start (or a keep-alive request's first byte) to the end of its headers. */
  headersTimeoutMs?: number;
  /** An idle keep-alive connection is closed after this (default 120 s, past the apiserver's 90 s). */
  idleTimeoutMs?: number;
  /** Open connections at once; one more is closed at once. */
  maxConnections?: number;
}

export interface Webhook {
  port: number;
  probePort: number;
  ready(): boolean;
  /** SIGTERM semantics: unready, stop accepting, finish in-flight requests, release everything. */
  close(): Promise<void>;
}

// The apiserver's Go client keeps idle connections 90 s; closing ours first would make it send a
// POST on a dead connection (POSTs are not retried). So stay longer than it does.
const KEEP_ALIVE_MS = 120_000;
/** kube-apiserver sends its headers at once; a client that dribbles them is cut after this. */
export const HEADERS_TIMEOUT_MS = 10_000;
/**
 * kube-apiserver keeps one connection per request in flight and reuses idle ones: a few dozen at
 * most for this webhook. The cap keeps a flood of connections from holding memory and sockets.
 */
export const MAX_CONNECTIONS = 128;

export async function startWebhook(opts: WebhookOptions): Promise<Webhook> {
  const log = opts.log ?? createLogger({ name: "webhook" });
  const registry = opts.registry ?? createRegistry();
  const metrics = webhookMetrics(registry);
  const evaluation = { defaults: opts.defaults ?? BUILTIN_DEFAULTS, scope: opts.scope ?? DEFAULT_SCOPE };
  // Every review reads `evaluation`, so a changed file applies from the next review on.
  const defaultsFile = opts.defaultsFile;
  const defaults: WatchedFiles<ClusterDefaults> | undefined = defaultsFile
    ? watchFiles({
        files: [defaultsFile],
        parse: ([text]) => parseDefaultsYaml(text!, defaultsFile),
        log,
        ...(opts.certificatePollMs !== undefined ? { pollMs: opts.certificatePollMs } : {}),
        onLoad: (value, previous) => {
          evaluation.defaults = value;
          metrics.defaultsReloads.inc({ result: "loaded" });
          if (previous) log.info({ defaults: value, previous }, "cluster defaults reloaded");
        },
        onRefuse: (error, kept) => {
          metrics.defaultsReloads.inc({ result: "refused" });
          log.warn(
            { error, keeping: kept ?? evaluation.defaults },
            "cluster defaults refused; keeping the previous ones",
          );
        },
      })
    : undefined;
  await defaults?.check();
  const requestTimeoutMs = opts.requestTimeoutMs ?? REQUEST_TIMEOUT_MS;
  const headersTimeoutMs = opts.headersTimeoutMs ?? HEADERS_TIMEOUT_MS;
  const app = createApp({
    log,
    metrics,
    options: () => evaluation,
    maxBodyBytes: opts.maxBodyBytes ?? MAX_BODY_BYTES,
    requestTimeoutMs,
  });

  const server: Server = createServer(
    {
      minVersion: "TLSv1.2",
      // A connection that never finishes its handshake holds a slot until then.
      handshakeTimeout: headersTimeoutMs,
      // Node checks the header and request timeouts this often (30 s by default, which let a
      // dribbled request live 30 s past its timeout).
      connectionsCheckingInterval: Math.min(1000, Math.ceil(headersTimeoutMs / 4)),
    },
    app,
  );
  server.keepAliveTimeout = opts.idleTimeoutMs ?? KEEP_ALIVE_MS;
  // Node ≥ 18 times headers from a request's first byte, not from the idle wait before it, so
  // this no longer has to exceed the keep-alive timeout.
  server.headersTimeout = headersTimeoutMs;
  // A backstop behind the app's own deadline (which answers with an AdmissionReview first).
  server.requestTimeout = requestTimeoutMs + 2_000;
  server.maxConnections = opts.maxConnections ?? MAX_CONNECTIONS;
  server.on("drop", () => metrics.overload.inc({ reason: "connections" }));
  const sockets = new Set<Socket>();
  server.on("connection", (s: Socket) => {
    sockets.add(s);
    s.once("close", () => sockets.delete(s));
  });
  // A bad handshake (an old client, a port scanner) is the client's problem, not ours.
  server.on("tlsClientError", (err) => log.debug({ err: err.message }, "TLS handshake failed"));

  let loaded = false;
  let draining = false;
  const certificate = watchCertificate({
    certFile: opts.tlsCert,
    keyFile: opts.tlsKey,
    log,
    pollMs: opts.certificatePollMs,
    onLoad: (pair) => {
      // New handshakes get the new pair; established connections keep theirs, none is dropped.
      server.setSecureContext({ cert: pair.cert, key: pair.key, minVersion: "TLSv1.2" });
      loaded = true;
      metrics.certificateReloads.inc({ result: "loaded" });
      metrics.certificateExpiry.set(pair.notAfter.getTime() / 1000);
    },
    onRefuse: () => metrics.certificateReloads.inc({ result: "refused" }),
  });
  await certificate.check();
  if (!loaded) log.warn({ certFile: opts.tlsCert }, "no usable certificate yet; not ready until one appears");

  const host = opts.host ?? "0.0.0.0";
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(opts.port ?? 9443, host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const ready = (): boolean => loaded && !draining;
  let probes;
  try {
    probes = await startProbeServer({ port: opts.probePort ?? 8080, host, registry, ready });
  } catch (err) {
    certificate.close();
    defaults?.close();
    server.close();
    throw err;
  }
  const port = (server.address() as AddressInfo).port;
  log.info({ port, probePort: probes.port, defaults: evaluation.defaults }, "webhook listening");

  let closing: Promise<void> | undefined;
  const close = async (): Promise<void> => {
    draining = true;
    if (opts.shutdownDelayMs) await new Promise((r) => setTimeout(r, opts.shutdownDelayMs));
    // close() stops accepting and ends idle keep-alive connections; busy ones end after their answer.
    const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeIdleConnections();
    const deadline = setTimeout(() => {
      log.warn({ connections: sockets.size }, "drain deadline reached; cutting remaining connections");
      for (const s of sockets) s.destroy();
    }, opts.drainTimeoutMs ?? 20_000);
    await stopped;
    clearTimeout(deadline);
    certificate.close();
    defaults?.close();
    await probes.close();
    log.info("webhook stopped");
  };

  return {
    port,
    probePort: probes.port,
    ready,
    close: () => (closing ??= close()),
  };
}
