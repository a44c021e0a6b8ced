// Does kube-nftlb's own table (syncer/node-rules.ts) in nftlb's network namespace make nftlb's
// writes cost more? One raw POST of N farms × 10 backends on a fresh nftlb, alternating without
// and with the table the syncer would hold for them (a hairpin set of every dnat backend
// address), nftlb's CPU from /proc/PID/schedstat. Prints figures, never pass/fail. Root.
//   node bench/kube-table-cost.ts [N=1000] [--rounds R=2]
import { execFileSync } from "node:child_process";
import process from "node:process";
import { cannotBuildNetwork, createTestNetwork } from "../lab/net/index.ts";
import { serializeFarms } from "../nftlb/index.ts";
import { renderNodeRules, removeScript } from "../syncer/node-rules.ts";
import { measuredPost } from "./lib/raw-post.ts";
import { load } from "./lib/nftlb-cpu.ts";
import { helpFromHeader } from "./lib/usage.ts";
import { coldFarms } from "./lib/syncer-farms.ts";

const args = process.argv.slice(2);
helpFromHeader(import.meta.url, args);
const N = Number(args.find((a) => /^\d+$/.test(a)) ?? 1000);
const ri = args.indexOf("--rounds");
const ROUNDS = ri >= 0 ? Number(args[ri + 1]) : 2;

async function main() {
  const why = cannotBuildNetwork();
  if (why) return console.log(`bench/kube-table-cost: skipped: ${why}`);
  const farms = coldFarms(N);
  const body = serializeFarms(farms);
  const hairpin = farms.flatMap((f) =>
    (f.backends ?? []).map((b) => ({ family: "ipv4" as const, ip: b["ip-addr"]! })),
  );
  const table = renderNodeRules({ noEndpoints: [], firewall: [], hairpin });
  const net = await createTestNetwork({ backends: 0 });
  const nft = (script: string) =>
    execFileSync("ip", ["netns", "exec", net.nftlb.ns, "nft", "-f", "-"], { input: script });
  try {
    console.log(
      `${N} farms × 10 backends, one raw POST on a fresh nftlb; kube-nftlb's table: ${hairpin.length} hairpin elements`,
    );
    const cpu: Record<string, number[]> = { without: [], with: [] };
    for (let r = 0; r < ROUNDS; r++) {
      for (const mode of r % 2 === 0 ? ["without", "with"] : ["with", "without"]) {
        await net.nftlb.restart();
        nft(mode === "with" ? table : removeScript());
        const { ms: wall, cpu: d } = await measuredPost(net.nftlb, body);
        if (d === undefined) throw new Error("nftlb is not running");
        cpu[mode]!.push(d.onCpu);
        console.log(
          `  ${mode.padEnd(7)} the table: wall ${wall.toFixed(0)} ms, nftlb on a CPU ${d.onCpu.toFixed(0)} ms, waiting ${d.waiting.toFixed(0)} ms (load ${load()})`,
        );
      }
    }
    const med = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
    console.log(`nftlb CPU with the table / without: ${(med(cpu.with!) / med(cpu.without!)).toFixed(2)}×`);
  } finally {
    nft(removeScript());
    await net.destroy();
  }
}
await main();
