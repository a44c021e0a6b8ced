// `kube-nftlb syncer`: parses flags (syncer/config.ts) and runs syncer/run.ts until SIGTERM.
import { createLogger, createShutdown } from "../runtime/index.ts";
import { emit, usageError } from "../flags/flags.ts";
import { parseSyncerArgs, SYNCER_COMMAND } from "../syncer/config.ts";
import { startSyncer } from "../syncer/run.ts";
import { runCleanup } from "../syncer/cleanup-cli.ts";

export async function run(argv: string[]): Promise<number> {
  const parsed = parseSyncerArgs(argv);
  if (parsed.ok === "exit") return emit(parsed.exit);
  if (!parsed.ok) return emit(usageError({ command: SYNCER_COMMAND }, parsed.error));
  const cfg = parsed.config;
  const log = createLogger({ name: "syncer", level: cfg.logLevel, secrets: () => [cfg.nftlbKey] });
  if (cfg.cleanup) return runCleanup(cfg, log);
  let syncer;
  try {
    syncer = await startSyncer(cfg, { log });
  } catch (err) {
    log.error({ err: (err as Error).message }, "syncer could not start");
    return 1;
  }
  const shutdown = createShutdown({ log });
  // Informers stop, the write in flight finishes, nftlb keeps its rules (traffic keeps flowing).
  shutdown.add("syncer", () => syncer.stop());
  await shutdown.onSignals();
  return 0;
}
