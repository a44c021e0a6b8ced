// nftlb's kernel tables as the kernel holds them, read fast enough to time changes of a few
// milliseconds: one `nft -j -i` (interactive) kept running in the node namespace answers each
// `list ruleset` with one JSON line, so a poll costs a netlink dump, not a process start (a
// fresh `ip netns exec … nft` costs 30–70 ms here). Run alone, it prints the node's ruleset of
// the lab in DIR (`node bench/lib/lab-nft.ts DIR`).
import { spawn } from "node:child_process";
import readline from "node:readline";

export interface FarmInKernel {
  present: boolean;
  /** backends in the farm's dnat map */
  backends: number;
  /** rules in the farm's own chains (filter-<farm>, nat-<farm>) */
  rules: number;
}

export interface KernelTables {
  farm(name: string): Promise<FarmInKernel>;
  close(): void;
}

interface NftObject {
  rule?: { chain: string; expr: unknown };
  chain?: { name: string };
}

export function kernelTables(netns: string): KernelTables {
  const nft = spawn("ip", ["netns", "exec", netns, "nft", "-j", "-i"], { stdio: ["pipe", "pipe", "ignore"] });
  const waiting: ((line: string) => void)[] = [];
  readline.createInterface({ input: nft.stdout }).on("line", (line) => waiting.shift()?.(line));
  const ruleset = () =>
    new Promise<NftObject[]>((resolve) => {
      waiting.push((line) => {
        try {
          resolve((JSON.parse(line) as { nftables?: NftObject[] }).nftables ?? []);
        } catch {
          resolve([]);
        }
      });
      nft.stdin.write("list ruleset\n");
    });
  return {
    farm: async (name) => {
      const objects = await ruleset();
      const mine = (chain: string) => chain === `filter-${name}` || chain === `nat-${name}`;
      const present = objects.some((o) => o.chain !== undefined && o.chain.name === `nat-${name}`);
      let rules = 0;
      let backends = 0;
      for (const o of objects) {
        if (o.rule === undefined || !mine(o.rule.chain)) continue;
        rules++;
        if (o.rule.chain === `nat-${name}`)
          backends += JSON.stringify(o.rule.expr).split('{"concat":["').length - 1;
      }
      return { present, backends, rules };
    },
    close: () => {
      nft.stdin.end();
      nft.kill();
    },
  };
}

if (import.meta.main) {
  const { readInfo } = await import("../../lab/cluster/lab-dir.ts");
  const info = readInfo(process.argv[2] ?? "/tmp/kube-nftlb-lab");
  if (!info.ok) {
    console.log(`usage: node bench/lib/lab-nft.ts LAB_DIR  (${info.error})`);
  } else {
    const k = kernelTables(info.info.node.netns);
    console.log(await k.farm("default.web.http"));
    k.close();
  }
}
