// `kube-nftlb syncer --cleanup`: remove what kube-nftlb made on this node, and only that — the
// farms carrying its mark (ownership.ts), its sentinel, and its own nftables table — then
// report. Idempotent: a second run finds nothing and succeeds. Every other farm (made by hand,
// whatever its name) and nftlb's own tables are left alone.
import type { NftlbClient } from "../nftlb/index.ts";
import { SENTINEL_FARM } from "../nftlb/index.ts";
import { isMarked } from "./ownership.ts";
import type { NodeRulesTable } from "./node-rules-nft.ts";

export interface CleanupDeps {
  nftlb: NftlbClient;
  /** kube-nftlb's table; absent with --node-rules=off (then it is left as it is). */
  table?: NodeRulesTable;
}

export type CleanupResult =
  { ok: true; farms: string[]; sentinel: boolean; table: boolean } | { ok: false; error: string };

export async function cleanupNode(d: CleanupDeps): Promise<CleanupResult> {
  const listed = await d.nftlb.listFarms();
  if (!listed.ok) return { ok: false, error: `cannot list nftlb's farms: ${listed.error.message}` };
  const ours = listed.value.filter(isMarked).map((f) => f.name);
  for (const name of ours) {
    const r = await d.nftlb.deleteFarm(name);
    if (!r.ok) return { ok: false, error: `cannot delete farm ${name}: ${r.error.message}` };
  }
  const ping = await d.nftlb.ping();
  if (!ping.ok) return { ok: false, error: `cannot ask nftlb for the sentinel: ${ping.error.message}` };
  if (ping.value.sentinel) {
    const r = await d.nftlb.deleteFarm(SENTINEL_FARM);
    if (!r.ok) return { ok: false, error: `cannot delete the sentinel farm: ${r.error.message}` };
  }
  let table = false;
  if (d.table) {
    const had = await d.table.exists();
    if (!had.ok) return { ok: false, error: `cannot list nftables tables: ${had.error}` };
    const r = await d.table.remove();
    if (!r.ok) return { ok: false, error: `cannot delete table inet kube-nftlb: ${r.error}` };
    table = had.value;
  }
  // nftlb answers 200 to deletions whose nft commands failed: look again.
  const after = await d.nftlb.listFarms();
  if (!after.ok) return { ok: false, error: `cannot list nftlb's farms: ${after.error.message}` };
  const left = after.value.filter(isMarked).map((f) => f.name);
  if (left.length > 0) return { ok: false, error: `farms still in nftlb after deletion: ${left.join(", ")}` };
  return { ok: true, farms: ours, sentinel: ping.value.sentinel, table };
}
