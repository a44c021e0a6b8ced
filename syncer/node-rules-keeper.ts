// Keeps `table inet kube-nftlb` equal to what the reconciler last asked for. Level-triggered: it
// holds the wanted script and the one the kernel got; a failed apply is logged and retried with
// backoff (errors are values, never a crash); check() re-applies the table when it is missing
// (someone ran `nft flush ruleset`). One nft run at a time.
//
// A write to nftlb needs the table to hold at least some rules before it goes (hold()); it waits
// for an nft run in flight only when that run could leave the kernel without them. A pass's table
// after its write only lets go of entries (reconcile-node-rules.ts), so the next change's write
// need not wait for it.
import { backoff, realTimers, type Timer, type Timers } from "../kube/timers.ts";
import type { NodeRulesTable } from "./node-rules-nft.ts";
import { renderNodeRules, type Destination, type NodeRules } from "./node-rules.ts";

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
  /** The rules of #applied, and of the apply in flight (the kernel holds one or the other). */
  #appliedRules: NodeRules | undefined;
  #inFlight: NodeRules | undefined;
  #attempt = 0;
  #retry: Timer | undefined;
  #chain: Promise<unknown> = Promise.resolve();
  #stopped = false;
  #applying = false;
  /** The last apply's error, or undefined after a success. */
  lastError: string | undefined;
  /** For tests: scripts applied. */
  readonly stats = { applies: 0, failures: 0, reapplied: 0, renders: 0 };

  constructor(deps: KeeperDeps) {
    this.#d = deps;
  }

  /** Wants these rules; applies them unless the kernel already has them (`force`: anyway). */
  update(rules: NodeRules, opts: { force?: boolean } = {}): Promise<boolean> {
    this.#want(rules);
    if (opts.force) this.#applied = undefined;
    // The kernel has it already and no apply is under way that could end with something else:
    // nothing to wait for. (A check in flight, the probe's `nft list tables`, may take tens of
    // ms; every reconcile asks twice, so queueing behind it delayed writes to nftlb.)
    if (!this.#applying && this.#wanted === this.#applied) return Promise.resolve(true);
    return this.#serial(() => this.#converge());
  }

  /**
   * Wants `rules` (as update()), and resolves once the kernel holds at least `needed` (what a
   * write needs in place before it goes): at once when the table in place, and the one an apply
   * under way may put in its stead, both give `needed`'s destinations the same treatment (the
   * table then follows in the background: its extra or stale entries are harmless, see covers());
   * otherwise once `rules` is applied, as update().
   */
  hold(rules: NodeRules, needed: NodeRules, opts: { force?: boolean } = {}): Promise<boolean> {
    const kernel = this.#applying ? [this.#appliedRules, this.#inFlight] : [this.#appliedRules];
    const held = kernel.every((t) => t !== undefined && covers(t, needed)) && covers(rules, needed);
    if (opts.force || !held) return this.update(rules, opts);
    this.#want(rules);
    if (this.#applying || this.#wanted !== this.#applied) void this.#serial(() => this.#converge());
    return Promise.resolve(true);
  }

  /**
   * The rules given are never changed afterwards (nodeRulesFrom makes new ones), so the same
   * object again, e.g. a pass that wrote nothing handing back its table from before the write,
   * has the text already: rendering is most of a big table's cost (44 ms at 10,000 hairpin
   * addresses, 50 µs for one refusal), and it was done for every call.
   */
  #want(rules: NodeRules): void {
    if (rules === this.#rules && this.#wanted !== undefined) return;
    this.stats.renders++;
    this.#wanted = renderNodeRules(rules);
    this.#rules = rules;
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
      this.#appliedRules = undefined;
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
    this.#inFlight = rules;
    const r = await this.#d.table.apply(rules).finally(() => (this.#applying = false));
    if (r.ok) {
      this.#applied = wanted;
      this.#appliedRules = rules;
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

/**
 * Whether a table of `have` gives every destination and address of `need` the same treatment
 * (the table's first entry for a destination wins, as node-rules.ts renders it). Entries `need`
 * lacks do not count: a stale refusal never matches a balanced packet (it runs after DNAT), a
 * stale hairpin address is never a packet's source and destination at once, and a stale
 * firewall is stricter than wanted for one nft run.
 */
function covers(have: NodeRules, need: NodeRules): boolean {
  const first = <T>(list: readonly T[], key: (x: T) => string, value: (x: T) => string) => {
    const m = new Map<string, string>();
    for (const x of list) if (!m.has(key(x))) m.set(key(x), value(x));
    return m;
  };
  const at = (d: Destination) => `${d.family}|${d.ip}|${d.protocol}|${d.port}`;
  const within = (a: Map<string, string>, b: Map<string, string>) => [...b].every(([k, v]) => a.get(k) === v);
  const verdict = (r: NodeRules) => first(r.noEndpoints, at, (d) => d.verdict);
  const allowed = (r: NodeRules) => first(r.firewall, at, (d) => [...d.allow].sort().join(","));
  const hairpin = (r: NodeRules) => new Set(r.hairpin.map((h) => `${h.family}|${h.ip}`));
  const held = hairpin(have);
  return (
    within(verdict(have), verdict(need)) &&
    within(allowed(have), allowed(need)) &&
    [...hairpin(need)].every((h) => held.has(h))
  );
}
