// `--defaults-file`: the cluster defaults the webhook writes, applied by the syncer too, so a
// Service admitted while the webhook was down or bypassed is balanced as the cluster says rather
// than with the built-in values. Re-read when the ConfigMap changes; a bad new file is refused
// (logged, counted) and the previous defaults kept.
import { parseDefaultsYaml, type ClusterDefaults } from "../annotations/index.ts";
import { watchFiles, type Logger, type WatchedFiles } from "../runtime/index.ts";
import type { Counter } from "prom-client";

export interface ClusterDefaultsOptions {
  file: string;
  log: Logger;
  reloads: Counter<"result">;
  /** Called with each new value after the first: the caller reconciles every Service again. */
  changed: (defaults: ClusterDefaults) => void;
  /** The first value, and each later one, are written here (the cluster view reads it). */
  into: { defaults?: ClusterDefaults };
  pollMs?: number;
}

export async function watchClusterDefaults(
  opts: ClusterDefaultsOptions,
): Promise<WatchedFiles<ClusterDefaults>> {
  const watched = watchFiles({
    files: [opts.file],
    parse: ([text]) => parseDefaultsYaml(text!, opts.file),
    log: opts.log,
    ...(opts.pollMs !== undefined ? { pollMs: opts.pollMs } : {}),
    onLoad: (defaults, previous) => {
      opts.into.defaults = defaults;
      opts.reloads.inc({ result: "loaded" });
      opts.log.info(
        { defaults, file: opts.file },
        previous ? "cluster defaults reloaded" : "cluster defaults loaded",
      );
      if (previous) opts.changed(defaults);
    },
    onRefuse: (error, kept) => {
      opts.reloads.inc({ result: "refused" });
      opts.log.warn(
        { error, keeping: kept ?? "built-in defaults" },
        "cluster defaults refused; keeping the previous ones",
      );
    },
  });
  await watched.check();
  return watched;
}
