// A promise rejected with nobody listening, or an exception nothing caught, leaves a process in
// a state no code foresaw: a syncer that no longer reconciles still answers its probes. Log it
// (one JSON line, through the process's own logger, so secrets stay scrubbed) and exit non-zero,
// so the kubelet restarts the container. Nothing else runs: shutdown steps assume a sane state.
import type { Logger } from "pino";

/** Exit code of a crash (EX_SOFTWARE, sysexits.h): not 0, not a flag error's 2. */
export const CRASH_EXIT_CODE = 70;

export function exitOnCrash(log: Logger, exit: (code: number) => void = (code) => process.exit(code)): void {
  const crash = (what: string) => (reason: unknown) => {
    const err =
      reason instanceof Error ? { message: reason.message, stack: reason.stack } : { value: String(reason) };
    log.fatal({ err }, `${what}: exiting so that the process is restarted`);
    exit(CRASH_EXIT_CODE);
  };
  process.on("unhandledRejection", crash("unhandled promise rejection"));
  process.on("uncaughtException", crash("uncaught exception"));
}
