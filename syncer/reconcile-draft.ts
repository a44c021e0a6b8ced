// One pass's plan, drafted from nftlb's farms as the client knows them now, with kube-nftlb's
// table for it. Nothing is reported from here: a pass drafts while nftlb answers the ownership
// check and drafts again when that check read nftlb's farms anew (reconcile.ts), so what a
// draft decides (refusals, adoptions, blocked addresses) counts only once the pass keeps it.
//
// A batch looks at its own Services' farms and at the foreign ones (scope-index.ts keeps both),
// never at every farm of the node: with 1,000 farms present those walks were a good part of the
// syncer's own time for adding one Service (bench/scale.ts --profile).
import type { Farm } from "../nftlb/types.ts";
import type { DesiredService } from "./desired.ts";
import type { FarmShare } from "./node-rules-desired.ts";
import { markOwned, ownerOf } from "./ownership.ts";
import { plan, type Plan } from "./plan.ts";
import type { HeldKeys } from "./reconcile-held.ts";
import { PassNodeRules } from "./reconcile-node-rules.ts";
import type { PassOwnership } from "./reconcile-ownership.ts";
import type { ReconcilerDeps } from "./reconcile.ts";
import type { Refusal } from "./capacity.ts";
import type { ScopeIndex, Selection, Settled } from "./scope-index.ts";

export interface DraftParts {
  d: Pick<ReconcilerDeps, "nftlb" | "nodeRules">;
  ownership: PassOwnership;
  scope: ScopeIndex;
  held: HeldKeys;
  services: () => ReadonlyMap<string, DesiredService>;
  share: (farm: Farm) => FarmShare;
}

export interface Draft {
  /** The farms to write (marked; adopted ones under the upstream farm's name). */
  farms: Farm[];
  ownerOfFarm: (farm: string) => string;
  /** The Services planned; undefined: all (a full reconcile). */
  scope: ReadonlySet<string> | undefined;
  /** The selected Services' farms for the table's view (ScopeIndex.keepSettled), once kept. */
  settled: Settled;
  /** Capacity refusals, to be reported when the pass keeps this draft. */
  refused: Refusal[];
  p: Plan;
  table: PassNodeRules;
}

/** `claiming`: the selected farms as ownership's adopting() gave them for nftlb's farms as known now. */
export function draftPass(
  x: DraftParts,
  selected: Selection,
  claiming: readonly Farm[],
  full: boolean,
): Draft {
  const known = x.d.nftlb.known();
  const farms = claiming.map(markOwned);
  const ownerOfFarm = x.ownership.ownerOfFarm(x.scope.owners, ownerOf);
  const settled = x.scope.settle(selected.keys, farms, ownerOfFarm);
  const scope = full ? undefined : selected.keys;
  const inScope = (f: Farm) => scope?.has(ownerOfFarm(f.name)) ?? true;
  const actual = scope
    ? [...x.scope.actualOf(scope), ...x.ownership.adoptedBy(scope).flatMap((n) => known.get(n) ?? [])].filter(
        inScope,
      )
    : [...known.values()];
  const { held, refused } = x.held.assess(farms, actual, ownerOfFarm, x.scope.capacity());
  const planned = (f: Farm) => !held.has(ownerOfFarm(f.name)) && inScope(f);
  const { owns, have } = x.ownership.view(actual, planned, x.scope.foreign());
  const writing = farms.filter(planned);
  const p = plan(writing, have, { owns, farmMarks: x.scope.farmMarks() });
  const table = new PassNodeRules(x.d, {
    services: x.services(),
    owns,
    // This draft's farms in its Services' place: kept only if the pass goes on to write.
    index: { plannedFarms: () => x.scope.plannedFarms(settled) },
    share: x.share,
    writes: writing,
  });
  table.prepare();
  return { farms, ownerOfFarm, scope, settled, refused, p, table };
}
