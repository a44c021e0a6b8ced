// Whether nftlb is programmed (the syncer's /readyz): nftlb answered and the first full reconcile
// went through, and no pass since met a fatal error (nftlb refused the key). What a pass nftlb
// did not take tells the log: a fatal error names --nftlb-key-file; any other is retried.
import type { NftlbError } from "../nftlb/index.ts";

export interface ProgrammedLog {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

export class Programmed {
  readonly #log: ProgrammedLog;
  #fatal: NftlbError | undefined;
  /** The last pass nftlb did not take, until the first full one goes through (/readyz says it). */
  #beforeOnce: NftlbError | undefined;
  #once = false;

  constructor(log: ProgrammedLog) {
    this.#log = log;
  }

  /** nftlb answered and the first full reconcile went through; false again on a fatal error. */
  get programmed(): boolean {
    return this.#once && this.#fatal === undefined;
  }

  /** Why not programmed, for /readyz (never the key: NftlbError's message holds none); undefined when programmed. */
  get unprogrammed(): string | undefined {
    const f = this.#fatal;
    if (f !== undefined)
      return `nftlb refused the key (${f.status ?? "fatal"} on ${f.operation}): --nftlb-key-file does not hold nftlb's key`;
    if (this.#once) return undefined;
    const last = this.#beforeOnce;
    return last === undefined
      ? "the first full reconcile is not done yet"
      : `the first full reconcile did not go through yet (last attempt: ${last.operation}: ${last.message})`;
  }

  /** A pass nftlb did not take (`keys`: the batch's size). */
  failed(failure: NftlbError, keys: number): void {
    if (!this.#once) this.#beforeOnce = failure;
    if (failure.kind === "fatal") {
      this.#fatal = failure;
      this.#log.error(
        { operation: failure.operation, status: failure.status },
        `nftlb refused the key: nothing can be programmed until --nftlb-key-file matches nftlb's key (${failure.message})`,
      );
    } else {
      this.#log.warn({ keys, err: failure.message }, "reconcile failed; retrying with backoff");
    }
  }

  /** A pass that went through (`farms`: how many nftlb holds, logged on the first full one). */
  succeeded(full: boolean, farms: () => number): void {
    this.#fatal = undefined;
    if (full && !this.#once) {
      this.#once = true;
      this.#beforeOnce = undefined;
      this.#log.info({ farms: farms() }, "nftlb programmed");
    }
  }
}
