// Whether the syncer is ready, and if not, why: every unmet condition in an operator's words, for
// /readyz's body and the log (a 503 that only says "not ready" sends whoever is paged to the log
// at 3 a.m.). The conditions, in the order start meets them (run.ts): nftlb answers the probe,
// every informer listed once, the first full reconcile went through (and nftlb still takes the
// key), not stopping. Nothing said here holds a secret: nftlb's errors never hold its key
// (nftlb/client.ts), and the text is scrubbed of it once more anyway.
import { scrub } from "../runtime/index.ts";
import type { NftlbHealth } from "./nftlb-probe.ts";

export interface ReadinessInputs {
  /** The last nftlb probe (nftlb-probe.ts): `error` is why it failed; neither before the first. */
  nftlb: NftlbHealth;
  informers: () => Iterable<{ name: string; synced: boolean; stats: { lastError: string } }>;
  /** Why nftlb is not programmed (Reconciler.unprogrammed), undefined when it is. */
  unprogrammed: () => string | undefined;
  stopping: () => boolean;
  /** Scrubbed from what is said (the nftlb key). */
  secrets: () => readonly string[];
}

export interface ReadinessLog {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

/** Every unmet condition, joined by "; ", or undefined when ready. */
export function unmet(i: ReadinessInputs): string | undefined {
  const out: string[] = [];
  if (i.stopping()) out.push("stopping");
  if (!i.nftlb.up)
    out.push(
      i.nftlb.error === undefined ? "nftlb not asked yet" : `nftlb does not answer (${i.nftlb.error})`,
    );
  const waiting = [...i.informers()]
    .filter((inf) => !inf.synced)
    .map((inf) => (inf.stats.lastError === "" ? inf.name : `${inf.name} (${inf.stats.lastError})`));
  if (waiting.length > 0) out.push(`caches not synced: ${waiting.join(", ")}`);
  const unprogrammed = i.unprogrammed();
  if (unprogrammed !== undefined) out.push(unprogrammed);
  return out.length === 0 ? undefined : scrub(out.join("; "), i.secrets());
}

/** unmet(), logged when its answer changes (not on every probe that asks). */
export class Readiness {
  readonly #i: ReadinessInputs;
  readonly #log: ReadinessLog;
  /** null: never asked. */
  #last: string | undefined | null = null;

  constructor(inputs: ReadinessInputs, log: ReadinessLog) {
    this.#i = inputs;
    this.#log = log;
  }

  /** undefined when ready, else why not. */
  check(): string | undefined {
    const why = unmet(this.#i);
    if (why === this.#last) return why;
    const was = this.#last;
    this.#last = why;
    if (why === undefined) this.#log.info({}, "ready");
    // Losing readiness is news; the reasons changing on the way up are the start's progress.
    else if (was === undefined) this.#log.warn({ reason: why }, "not ready");
    else this.#log.info({ reason: why }, "not ready");
    return why;
  }
}
