// The wiring of `--cleanup`: the nftlb client and the nft adapter from the flags, one JSON line of
// outcome. Exit 0 when kube-nftlb left nothing behind, 1 otherwise (nothing is half-hidden: the
// error names what is left).
import { createNftlbClient } from "../nftlb/index.ts";
import type { Logger } from "../runtime/index.ts";
import type { SyncerConfig } from "./config.ts";
import { cleanupNode } from "./cleanup.ts";
import { nodeRulesTable } from "./node-rules-agent.ts";

export async function runCleanup(cfg: SyncerConfig, log: Logger): Promise<number> {
  const nftlb = createNftlbClient({
    url: cfg.nftlbUrl,
    key: cfg.nftlbKey,
    timeoutMs: cfg.nftlbTimeoutMs,
    log,
  });
  const table = cfg.nodeRules === false ? undefined : nodeRulesTable(cfg);
  const r = await cleanupNode({ nftlb, ...(table ? { table } : {}) });
  if (!r.ok) {
    log.error({ err: r.error }, "cleanup failed");
    return 1;
  }
  log.info({ farms: r.farms.length, sentinel: r.sentinel, table: r.table }, "cleanup done");
  return 0;
}
