// The JSON logger every long-running process uses: pino, object first, secrets never written.
import { pino, type Logger, type DestinationStream } from "pino";

export type { Logger };

/** Field paths whose values are replaced wherever they appear (the nftlb key above all). */
export const REDACTED_PATHS = [
  "key",
  "nftlbKey",
  "*.key",
  "*.nftlbKey",
  "headers.key",
  "*.headers.key",
  "headers.authorization",
  "*.headers.authorization",
  "tlsKey",
  "*.tlsKey",
];

/** pino's levels a --log-level flag (or settings key) may name. */
export const LOG_LEVELS = ["trace", "debug", "info", "warn", "error"] as const;

/** Why `value` is not a log level (the flag's usage error), or undefined when it is one. */
export function logLevelError(value: string): string | undefined {
  return (LOG_LEVELS as readonly string[]).includes(value)
    ? undefined
    : `--log-level must be one of ${LOG_LEVELS.join(", ")}, got "${value}"`;
}

export interface LoggerOptions {
  /** Component name, e.g. "webhook" or "syncer". */
  name: string;
  level?: string;
  /** Where lines go; stdout when absent. Tests pass a stream to read the lines back. */
  destination?: DestinationStream;
  /**
   * Secret values to scrub from every line, wherever they appear (a message, an error's text).
   * A function, so a rotated secret is picked up without rebuilding the logger.
   */
  secrets?: () => readonly string[];
}

export function createLogger(opts: LoggerOptions): Logger {
  const secrets = opts.secrets;
  return pino(
    {
      name: opts.name,
      level: opts.level ?? "info",
      redact: { paths: REDACTED_PATHS, censor: "[redacted]" },
      // Path redaction cannot catch a key pasted into a message; the serialised line can.
      hooks: secrets ? { streamWrite: (line) => scrub(line, secrets()) } : {},
    },
    opts.destination,
  );
}

/** Replace each secret (and its JSON-escaped spelling) in a line. Secrets shorter than 4 are ignored. */
export function scrub(line: string, secrets: readonly string[]): string {
  let out = line;
  for (const secret of secrets) {
    if (secret.length < 4) continue;
    out = out.replaceAll(secret, "[redacted]");
    const escaped = JSON.stringify(secret).slice(1, -1);
    if (escaped !== secret) out = out.replaceAll(escaped, "[redacted]");
  }
  return out;
}
