// runtime/: what every long-running kube-nftlb process needs, and nothing else.
//
//   createLogger({ name, level?, destination?, secrets? }) → pino Logger
//     JSON lines, object first: log.info({ uid, verdict }, "admission").
//     Values at REDACTED_PATHS (key, nftlbKey, headers.key, tlsKey, …) print as "[redacted]";
//     `secrets: () => [nftlbKey]` also scrubs those values from every serialised line.
//   createRegistry({ prefix?, defaultMetrics? }) → prom-client Registry
//     Register your own metrics on it: new Counter({ name, help, registers: [registry] }).
//   startProbeServer({ port, host?, registry, ready, live? }) → { port, close() }
//     Plain HTTP: GET /healthz (live), /readyz (ready), /metrics (the registry). port 0 = any.
//     `ready` gives true, false, or why not (a string): the 503's body says it (readyzAnswer).
//   closeServer(server) → stops an http.Server, dropping idle keep-alive connections.
//   watchFiles({ files, parse, onLoad, onRefuse, log, pollMs? }) → { current(), check(), close() }
//     Files re-read when kubelet swaps a mounted Secret's or ConfigMap's `..data`; a content that
//     does not parse is refused and the previous value kept. readParsed(files, parse): once.
//   parseDuration("1h30m") → 5_400_000 ms, or { error }; formatDuration(ms) → "90m".
//     The one duration grammar of every flag (Go's, as Kubernetes spells durations).
//   createShutdown({ log, timeoutMs? }) → { add(name, step), run(reason), onSignals(signals?) }
//     Steps run in the order added; a failing step is logged and the next runs; the whole is
//     bounded by timeoutMs. `await shutdown.onSignals()` resolves after SIGTERM/SIGINT and all steps.
//   exitOnCrash(log) → an unhandled rejection or uncaught exception is logged (fatal) and the
//     process exits with CRASH_EXIT_CODE (70), so the kubelet restarts it.
//   heapTrim({ timers, heapTotal, collect }) → { busy(), idle(), stop() }: a last-resort GC once
//     quiet after the heap grew (V8's memory reducer never runs in an idle Node process);
//     exposedCollector() → that GC when run with --expose-gc, else undefined.
//   serveAgent(what, log, start) → a node agent command's life: exitOnCrash, start (a throw is one
//     log line and exit 1), then serve until SIGTERM/SIGINT and close; resolves to the exit code.
//
// Typical wiring (see webhook/server.ts):
//   const log = createLogger({ name: "syncer", secrets: () => [key] });
//   const registry = createRegistry();
//   let draining = false;
//   const probes = await startProbeServer({ port: 8080, registry, ready: () => synced && !draining });
//   const shutdown = createShutdown({ log });
//   shutdown.add("not ready", () => { draining = true; });
//   shutdown.add("stop work", () => stopWork());
//   shutdown.add("probe port", () => probes.close());
//   await shutdown.onSignals();
export {
  createLogger,
  logLevelError,
  LOG_LEVELS,
  scrub,
  REDACTED_PATHS,
  type Logger,
  type LoggerOptions,
} from "./log.ts";
export { createRegistry, Registry, type MetricsOptions } from "./metrics.ts";
export {
  closeServer,
  readyzAnswer,
  startProbeServer,
  type ProbeOptions,
  type ProbeServer,
} from "./probes.ts";
export { createShutdown, type Shutdown, type ShutdownOptions } from "./shutdown.ts";
export {
  readParsed,
  watchFiles,
  type Parsed,
  type WatchedFiles,
  type WatchedFilesOptions,
} from "./watched-files.ts";
export { formatDuration, parseDuration } from "./duration.ts";
export { CRASH_EXIT_CODE, exitOnCrash } from "./crash.ts";
export { serveAgent } from "./serve-agent.ts";
export { exposedCollector, heapTrim } from "./heap-trim.ts";
