// Keeps `table inet kube-nftlb` equal to what the reconciler last asked for. Level-triggered: it
// holds the wanted script and the one the kernel got; a failed apply is logged and retried with
// backoff (errors are values, never a crash); check() re-applies the table when it is missing
// (someone ran `nft flush ruleset`). One nft run at a time.
import { backoff, realTimers, type Timer, type Timers } from "../kube/timers.ts";
import type { NodeRulesTable } from "./node-rules-nft.ts";
import { renderNodeRules, type NodeRules } from "./node-rules.ts";

export interface KeeperLog {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

export interface KeeperDeps {
  table: NodeRulesTable;
  log: KeeperLog;
  timers?: Timers;
}

export class NodeRulesKeeper {
  readonly #d: KeeperDeps;
  #wanted: string | undefined;
  #rules: NodeRules | undefined;
  #applied: string | undefined;
  #attempt = 0;
  #retry: Timer | undefined;
  #chain: Promise<unknown> = Promise.resolve();
  #stopped = false;
  #applying = false;
  /** The last apply's error, or undefined after a success. */
  lastError: string | undefined;
  /** For tests: scripts applied. */
  readonly stats = { applies: 0, failures: 0, reapplied: 0 };

  constructor(deps: KeeperDeps) {
    this.#d = deps;
  }

  /** Wants these rules; applies them unless the kernel already has them (`force`: anyway). */
  update(rules: NodeRules, opts: { force?: boolean } = {}): Promise<boolean> {
    this.#wanted = renderNodeRules(rules);
    this.#rules = rules;
    if (opts.force) this.#applied = undefined;
    // The kernel has it already and no apply is under way that could end with something else:
    // nothing to wait for. (A check in flight, the probe's `nft list tables`, may take tens of
    // ms; every reconcile asks twice, so queueing behind it delayed writes to nftlb.)
    if (!this.#applying && this.#wanted === this.#applied) return Promise.resolve(true);
    return this.#serial(() => this.#converge());
  }

  /** Re-applies the table if it is gone from the kernel. */
  check(): Promise<void> {
    return this.#serial(async () => {
      if (this.#wanted === undefined || this.#applied === undefined) return;
      const r = await this.#d.table.exists();
      if (!r.ok) {
        this.#d.log.warn({ err: r.error }, "cannot list nftables tables");
        return;
      }
      if (r.value) return;
      this.stats.reapplied++;
      this.#d.log.warn({}, "table inet kube-nftlb is gone (ruleset flushed?): applying it again");
      this.#applied = undefined;
      await this.#converge();
    });
  }

  stop(): void {
    this.#stopped = true;
    this.#retry?.cancel();
  }

  #serial<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.#chain.then(fn, fn);
    this.#chain = next.catch(() => undefined);
    return next;
  }

  /** true when the kernel has the wanted table. */
  async #converge(): Promise<boolean> {
    const wanted = this.#wanted;
    const rules = this.#rules;
    if (wanted === undefined || rules === undefined || wanted === this.#applied) return true;
    this.#retry?.cancel();
    this.#retry = undefined;
    this.stats.applies++;
    this.#applying = true;
    const r = await this.#d.table.apply(rules).finally(() => (this.#applying = false));
    if (r.ok) {
      this.#applied = wanted;
      this.#attempt = 0;
      if (this.lastError !== undefined) this.#d.log.info({}, "table inet kube-nftlb applied again");
      this.lastError = undefined;
      return true;
    }
    this.stats.failures++;
    this.lastError = r.error;
    const wait = backoff(this.#attempt++, 500, 30_000);
    this.#d.log.warn({ err: r.error, retryInMs: wait }, "cannot apply table inet kube-nftlb; retrying");
    if (!this.#stopped) {
      this.#retry = (this.#d.timers ?? realTimers).after(wait, () => {
        void this.#serial(() => this.#converge());
      });
    }
    return false;
  }
}
