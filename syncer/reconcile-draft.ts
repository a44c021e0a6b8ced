// One pass's plan, drafted from nftlb's farms as the client knows them now, with kube-nftlb's
// table for it. Nothing is reported from here: a pass drafts while nftlb answers the ownership
// check and drafts again when that check read nftlb's farms anew (checkedDraft), so what a
// draft decides (refusals, adoptions, blocked addresses, the farms the table counts as planned)
// counts only once the pass keeps it (reconcile.ts).
//
// A batch looks at its own Services' farms and at the foreign ones (scope-index.ts keeps both),
// never at every farm of the node: with 1,000 farms present those walks were a good part of the
// syncer's own time for adding one Service (bench/scale.ts --profile).
import type { NftlbError } from "../nftlb/index.ts";
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

/**
 * Two turns of the event loop: a request handed to the transport has its connection made and its
 * bytes written on the next one, so CPU work started after this overlaps nftlb's answer instead
 * of delaying the request. (Latency only: nothing waits on this for correctness.)
 */
const requestSent = async () => {
  for (let i = 0; i < 2; i++) await new Promise((turn) => setImmediate(turn));
};

/**
 * The pass's draft, checked: the ownership check's request goes out first and the pass drafts
 * while nftlb answers it (~10 ms at 1,000 farms). When the answer shows a holder not seen yet,
 * nftlb's farms were read again and the draft is made anew from them.
 */
export async function checkedDraft(
  x: DraftParts,
  selected: Selection,
  full: boolean,
): Promise<Draft | { error: NftlbError }> {
  const claiming = x.ownership.adopting(selected.farms);
  const checking = x.ownership.check(claiming);
  if (checking !== undefined) await requestSent();
  const d = draftPass(x, selected, claiming, full);
  const checked = await checking;
  if (checked === undefined) return d;
  if ("error" in checked) return checked;
  if (!checked.relisted) return d;
  x.scope.follow(x.d.nftlb.known());
  return draftPass(x, selected, x.ownership.adopting(selected.farms), full);
}

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
function draftPass(x: DraftParts, selected: Selection, claiming: readonly Farm[], full: boolean): Draft {
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
