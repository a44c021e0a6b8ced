// Bench (a) with `--node-rules`: kube-nftlb's table (syncer/node-rules.ts) as the syncer holds it,
// so the floors' turns go through the same table states, with the same nft runs, as the syncer's.
// In the syncer's turn nft runs before the farm's creation is written (the Service without
// endpoints is refused before nftlb holds its farm) and after the change is written; the Service
// deleted, the table is back to what it was. Without the replay the floors wrote into a namespace whose table never changed
// and no nft ran next to them: a difference between the turns that was not the syncer's work.
import process from "node:process";
import type { NodeRulesTable } from "../../syncer/node-rules-nft.ts";
import { EMPTY_RULES, type NodeRules } from "../../syncer/node-rules.ts";

export interface TableReplay {
  /** The table to give the syncer (its applies are recorded). */
  table: NodeRulesTable;
  /** What the kernel holds now, as far as the syncer's applies and the replays go. */
  current(): NodeRules;
  /**
   * Puts `rules` into the table with one nft run, as the syncer's keeper does, once the syncer's
   * own runs are over (a pass's run after its write goes on after the pass: two nft runs at once
   * could commit in either order).
   */
  replay(rules: NodeRules): Promise<void>;
  /** Every nft run (the syncer's and the replays), CLOCK_MONOTONIC ns. */
  runs: readonly { start: number; end: number }[];
  /** Resolves once no nft run of the syncer's is under way. */
  settled(): Promise<void>;
}

export function tableReplay(inner: NodeRulesTable): TableReplay {
  let current: NodeRules = EMPTY_RULES;
  const running = new Set<Promise<unknown>>();
  const runs: { start: number; end: number }[] = [];
  const apply = async (rules: NodeRules) => {
    const t0 = Number(process.hrtime.bigint());
    const run = inner.apply(rules);
    running.add(run);
    const r = await run.finally(() => running.delete(run));
    if (r.ok) current = rules;
    runs.push({ start: t0, end: Number(process.hrtime.bigint()) });
    return r;
  };
  return {
    table: { ...inner, apply },
    current: () => current,
    runs,
    async settled() {
      while (running.size > 0) await Promise.all(running);
    },
    async replay(rules) {
      await this.settled();
      const r = await apply(rules);
      if (!r.ok) throw new Error(`replaying kube-nftlb's table: ${r.error}`);
    },
  };
}
