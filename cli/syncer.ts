// `kube-nftlb syncer`: parses flags (syncer/config.ts) and runs syncer/run.ts until SIGTERM.
import v8 from "node:v8";
import { createLogger, createShutdown, exitOnCrash, exposedCollector, heapTrim } from "../runtime/index.ts";
import { emit, usageError } from "../flags/flags.ts";
import { parseSyncerArgs, SYNCER_COMMAND } from "../syncer/config.ts";
import { realTimers } from "../kube/timers.ts";

export async function run(argv: string[]): Promise<number> {
  const parsed = parseSyncerArgs(argv);
  if (parsed.ok === "exit") return emit(parsed.exit);
  if (!parsed.ok) return emit(usageError({ command: SYNCER_COMMAND }, parsed.error));
  const cfg = parsed.config;
  const log = createLogger({ name: "syncer", level: cfg.logLevel, secrets: () => [cfg.nftlbKey] });
  exitOnCrash(log);
  // Loaded only now: the syncer pulls in client-node and the whole reconciler, which --help,
  // --version and a bad flag must not wait for (seconds on a busy node).
  if (cfg.cleanup) return (await import("../syncer/cleanup-cli.ts")).runCleanup(cfg, log);
  const { startSyncer } = await import("../syncer/run.ts");
  // Benchmarks of the lab only (bench/lab-scale.ts): where a change spends its time, from a
  // syncer running as the DaemonSet runs it. Off unless set; nothing in deploy/ sets it.
  const traceFile = process.env.KUBE_NFTLB_SYNCER_TRACE_FILE;
  const tracing = traceFile ? (await import("../syncer/trace.ts")).traceToFile(traceFile) : undefined;
  // With --expose-gc (the DaemonSet's NODE_OPTIONS) the heap a burst grew is given back once the
  // syncer is quiet (runtime/heap-trim.ts: V8's own memory reducer never runs here).
  const collect = exposedCollector();
  const trim = collect
    ? heapTrim({
        timers: realTimers,
        heapTotal: () => v8.getHeapStatistics().total_heap_size,
        collect,
        onTrim: ({ beforeBytes, afterBytes, ms }) =>
          log.info(
            {
              heapBeforeMiB: Math.round(beforeBytes / 2 ** 20),
              heapAfterMiB: Math.round(afterBytes / 2 ** 20),
              ms: Math.round(ms),
            },
            "heap trimmed after a burst of work",
          ),
      })
    : undefined;
  let syncer;
  try {
    syncer = await startSyncer(cfg, {
      log,
      ...(tracing ? { trace: tracing.trace } : {}),
      ...(trim ? { quiet: trim } : {}),
    });
  } catch (err) {
    log.error({ err: (err as Error).message }, "syncer could not start");
    return 1;
  }
  const shutdown = createShutdown({ log });
  // Informers stop, the write in flight finishes, nftlb keeps its rules (traffic keeps flowing).
  shutdown.add("syncer", () => syncer.stop());
  if (trim) shutdown.add("heap trim", () => trim.stop());
  if (tracing) shutdown.add("trace", () => tracing.close());
  await shutdown.onSignals();
  return 0;
}
