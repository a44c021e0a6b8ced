// Sending one plan to nftlb, in plan's order. What it reports (a failure, Services nftlb
// refused, Services with removals left over) the reconciler turns into outcomes; it never
// touches the queue.
//
// A Service whose upsert nftlb refused keeps exactly what it had: its removals (backends,
// addresses) are not sent. Backends going away were set down by the upsert; deleting them from
// nftlb is housekeeping, bounded per pass (REMOVAL_BUDGET_MS) so that one big shrink never holds
// other Services' changes back: the rest is left for a later pass of the same key.
import type { NftlbClient, NftlbError } from "../nftlb/index.ts";
import type { FarmPatch } from "../nftlb/serialize.ts";
import { chunkUpserts, writeDeadlineMs } from "./capacity.ts";
import { operations, type Plan } from "./plan.ts";

// Deleting backends that are already down costs nftlb ~22 ms each in a farm of 2,000 (one POST
// for many; a DELETE each costs ~70 ms): at most ~1 s of it per pass, 25 per request.
const REMOVAL_CHUNK = 25;
const REMOVAL_BUDGET_MS = 1_000;
// Half the client's 30 s timeout by estimate. It does not grow with a backlog: nftlb costs no
// more per POST than per farm sent (bench/post-cost.ts), and a POST's fixed part, its read-back,
// is ~0.3 s of the 15 s with 5,000 farms present: POSTs cut at 15 s cost nftlb what one would.
const DEFAULT_WRITE_BUDGET_MS = 15_000;

export interface ApplyDeps {
  nftlb: NftlbClient;
  /** The longest one POST should take by estimate (capacity.ts). */
  writeBudgetMs?: number | undefined;
  log: { warn(obj: object, msg: string): void };
  /** Called for every write sent (POST or DELETE). */
  wrote: () => void;
}

export interface Applied {
  /** The first write nftlb did not take (the rest of the plan was not sent). */
  failure?: NftlbError;
  /** Services whose farms nftlb refused, with its answer: left as they were. */
  refused: Map<string, string>;
  /** Services whose removals ran over this pass's budget: the rest comes on their next pass. */
  unfinished: Set<string>;
  /** nftlb refused a write: what the client believes it holds may be off; read it again. */
  relist: boolean;
}

export async function applyPlan(p: Plan, ownerOfFarm: (n: string) => string, d: ApplyDeps): Promise<Applied> {
  const out: Applied = { refused: new Map(), unfinished: new Set(), relist: false };
  let removing: number | undefined;
  for (const op of operations(p)) {
    if ("farms" in op) {
      for (const farms of chunkUpserts(
        op.farms,
        d.nftlb.known().size,
        d.writeBudgetMs ?? DEFAULT_WRITE_BUDGET_MS,
      )) {
        d.wrote();
        const r = await upsert(d.nftlb, farms);
        if (r.ok) continue;
        if (r.error.kind !== "terminal") return { ...out, failure: r.error };
        out.relist = true;
        const failed = await isolate(farms, ownerOfFarm, d, out.refused);
        if (failed !== undefined) return { ...out, failure: failed };
      }
      continue;
    }
    // A refused Service keeps exactly what it has: none of its removals.
    if (out.refused.has(ownerOfFarm(op.farm))) continue;
    if ("backends" in op) {
      removing ??= performance.now();
      const r = await removeBackends(op.farm, op.backends, removing, d);
      if (r === "unfinished") out.unfinished.add(ownerOfFarm(op.farm));
      else if (r !== undefined) return { ...out, failure: r };
      continue;
    }
    d.wrote();
    const r =
      "address" in op ? await d.nftlb.deleteAddress(op.farm, op.address) : await d.nftlb.deleteFarm(op.farm);
    if (r.ok) continue;
    // A removal nftlb refuses is most often one that already happened: read nftlb again and
    // let the next pass decide; never park a deletion.
    d.log.warn({ farm: op.farm, err: r.error.message }, "nftlb removal failed");
    return { ...out, failure: r.error };
  }
  return out;
}

/** One POST, given a deadline that follows its estimated time (the client's timeout is the floor). */
const upsert = (nftlb: NftlbClient, farms: readonly FarmPatch[]) =>
  nftlb.upsertFarms(farms, { timeoutMs: writeDeadlineMs(farms, nftlb.known().size) });

/** Down backends deleted in chunks while the pass's removal budget lasts; the rest later. */
async function removeBackends(
  farm: string,
  names: readonly string[],
  since: number,
  d: ApplyDeps,
): Promise<NftlbError | "unfinished" | undefined> {
  for (let i = 0; i < names.length; i += REMOVAL_CHUNK) {
    if (performance.now() - since > REMOVAL_BUDGET_MS) return "unfinished";
    d.wrote();
    const r = await d.nftlb.deleteBackends(farm, names.slice(i, i + REMOVAL_CHUNK));
    if (r.ok) continue;
    d.log.warn({ farm, err: r.error.message }, "nftlb removal failed");
    return r.error;
  }
  return undefined;
}

/** nftlb refused a batched POST: send each Service's farms alone, and note the ones it refuses. */
async function isolate(
  farms: readonly FarmPatch[],
  ownerOfFarm: (n: string) => string,
  d: ApplyDeps,
  refused: Map<string, string>,
): Promise<NftlbError | undefined> {
  const byKey = new Map<string, FarmPatch[]>();
  for (const f of farms) {
    const k = ownerOfFarm(f.name);
    byKey.set(k, [...(byKey.get(k) ?? []), f]);
  }
  for (const [key, group] of byKey) {
    d.wrote();
    const r = await upsert(d.nftlb, group);
    if (r.ok) continue;
    if (r.error.kind !== "terminal") return r.error;
    refused.set(key, r.error.message);
    d.log.warn(
      { key, err: r.error.message },
      "nftlb refused the Service's farms: parked until the Service changes",
    );
  }
  return undefined;
}
