// kube-nftlb's own table (node-rules*.ts) around a pass's write: before it (a LoadBalancer IP gets
// its firewall before nftlb balances it; a farm losing its last backend is refused as soon as
// nftlb stops balancing it) and after it (what nftlb now holds).
import type { NftlbClient } from "../nftlb/index.ts";
import type { Farm } from "../nftlb/types.ts";
import type { DesiredService } from "./desired.ts";
import type { NodeRules } from "./node-rules.ts";
import { nodeRulesFrom, type FarmShare } from "./node-rules-desired.ts";
import type { NodeRulesKeeper } from "./node-rules-keeper.ts";
import type { ScopeIndex } from "./scope-index.ts";

export type TableKeeper = Pick<NodeRulesKeeper, "update" | "hold" | "lastError">;

/** What the table is computed from, read each time it is (before the write and after it). */
export interface TableInput {
  services: ReadonlyMap<string, DesiredService>;
  owns: (farm: string) => boolean;
  /** The farms the pass plans. */
  index: Pick<ScopeIndex, "plannedFarms">;
  /** Each farm object's part, parsed once (node-rules-desired.ts's rememberedShares). */
  share: (farm: Farm) => FarmShare;
  /** The farms this pass writes (of the planned ones). */
  writes: readonly Farm[];
}

/** One pass's table. */
export class PassNodeRules {
  readonly #keeper: TableKeeper | undefined;
  readonly #rules: () => NodeRules;
  /** What this pass's write needs in the table before it goes: its own farms' part. */
  readonly #needed: () => NodeRules;
  #before: NodeRules | undefined;

  /** `nodeRules`: the table's keeper (none: no table); `nftlb`: what it holds, read each time. */
  constructor(
    d: { nodeRules?: TableKeeper | undefined; nftlb: Pick<NftlbClient, "known"> },
    from: TableInput,
  ) {
    this.#keeper = d.nodeRules;
    // A farm this pass writes is kube-nftlb's (written with the mark) before nftlb holds it: a new
    // (or adopted) farm's refusal and hairpin addresses go in with the table before the write.
    // With owns() alone, which knows the marks nftlb holds, they came with an nft run after the
    // write: after the farm's first packets, and just before the next change's write.
    const writing = new Set(from.writes.map((f) => f.name));
    const owns = (farm: string) => writing.has(farm) || from.owns(farm);
    const rules = (actual: Iterable<Farm>, planned: Farm[]) =>
      nodeRulesFrom(actual, from.services.values(), { owns, planned, share: from.share });
    this.#rules = () => rules(d.nftlb.known().values(), [...from.index.plannedFarms()]);
    this.#needed = () => rules([], [...from.writes]);
  }

  /** The table before the write, computed ahead (while nftlb answers the ownership check). */
  prepare(): void {
    this.#before = this.#keeper ? this.#rules() : undefined;
  }

  async before(full: boolean): Promise<void> {
    // A full reconcile re-applies the table whatever the keeper believes (repairs a hand edit);
    // here, before the write, so that after it only a changed table costs another nft run (a
    // cold start is the syncer's start plus one POST: each nft run is added to it).
    // The write waits for nft only when the table lacks what the write needs (keeper.hold()).
    if (this.#before) await this.#keeper?.hold(this.#before, this.#needed(), { force: full });
  }

  /**
   * After a verified write (`wrote`: anything sent); `failed` gets the keeper's error if the table
   * did not apply. It only lets go of entries the write made stale (the table before the write
   * had them all), so the next pass need not wait for it: that pass's before() waits if it needs
   * to (the keeper serialises the runs, the last rules wanted win).
   */
  async after(wrote: boolean, failed: (error: string) => void): Promise<void> {
    // Nothing written: nftlb holds what it held, so the table's content is the one above.
    const after = () => (this.#before && !wrote ? this.#before : this.#rules());
    const keeper = this.#keeper;
    if (keeper === undefined) return;
    const ok = await keeper
      .update(after())
      .catch((err: unknown) => `the table's update threw: ${String(err)}`);
    if (ok !== true) failed(typeof ok === "string" ? ok : (keeper.lastError ?? ""));
  }
}
