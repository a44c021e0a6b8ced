// `kube-nftlb syncer`: parses flags (syncer/config.ts) and runs syncer/run.ts until SIGTERM.
import { createLogger, createShutdown, exitOnCrash } from "../runtime/index.ts";
import { emit, usageError } from "../flags/flags.ts";
import { parseSyncerArgs, SYNCER_COMMAND } from "../syncer/config.ts";

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
  let syncer;
  try {
    syncer = await startSyncer(cfg, { log, ...(tracing ? { trace: tracing.trace } : {}) });
  } catch (err) {
    log.error({ err: (err as Error).message }, "syncer could not start");
    return 1;
  }
  const shutdown = createShutdown({ log });
  // Informers stop, the write in flight finishes, nftlb keeps its rules (traffic keeps flowing).
  shutdown.add("syncer", () => syncer.stop());
  if (tracing) shutdown.add("trace", () => tracing.close());
  await shutdown.onSignals();
  return 0;
}
