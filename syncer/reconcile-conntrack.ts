// After a write nftlb verified, UDP conntrack entries of the farms it wrote are cleaned
// (conntrack-tool.ts): a stale flow's next packet is then balanced anew.
import type { NftlbClient } from "../nftlb/index.ts";
import type { ConntrackCleaner } from "./conntrack-tool.ts";
import type { Plan } from "./plan.ts";

export interface ConntrackDeps {
  nftlb: Pick<NftlbClient, "known">;
  conntrack?: ConntrackCleaner | undefined;
  log: { info(obj: object, msg: string): void; warn(obj: object, msg: string): void };
}

/** After a verified write: stale UDP flows go (their next packet is balanced anew). */
export async function cleanConntrack(p: Plan, d: ConntrackDeps): Promise<void> {
  // Only the farms this pass wrote can have stale flows (kube-proxy cleans per changed
  // Service too): listing every UDP flow of the node after every write cost a conntrack dump.
  const known = d.nftlb.known();
  const written = new Set([...p.upserts.map((f) => f.name), ...p.deleteBackends.map((b) => b.farm)]);
  const farms = [...written].flatMap((name) => known.get(name) ?? []);
  if (farms.length === 0) return;
  const r = await d.conntrack?.clean(farms);
  if (r === undefined) return;
  if (!r.ok) d.log.warn({ err: r.error }, "UDP conntrack cleanup failed");
  else if (r.deleted > 0 || r.skipped > 0)
    d.log.info({ deleted: r.deleted, unreadable: r.skipped }, "stale UDP conntrack entries deleted");
}
