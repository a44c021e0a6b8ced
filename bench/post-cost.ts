// What one POST costs nftlb, split into a part per request and a part per farm sent (issue 14,
// Deliver 4: one POST against chunks). Needs root (the real nftlb in a network namespace):
// `node bench/post-cost.ts [options]`; a few minutes.
//   --present N,N,…   farms already in nftlb when each series of POSTs is sent (0,1000,3000)
//   --sizes k,k,…     new farms per POST in each series (1,10,100,500)
//   --reads R         per-farm GETs and GET /farms timed at each N (median of R; 3)
// Farms are the syncer's own (bench/lib/syncer-farms.ts: 10 endpoints each, client marks), sent
// raw. nftlb's time on a CPU while it answers comes from /proc/PID/schedstat (bench/lib/nftlb-cpu.ts),
// so the figures compare its work, not the machine's load. At each N the series' POSTs follow
// one another, so each finds the farms of the ones before it: the table gives the farms present.
// Per N: cpu ≈ F(N) + k · g(N), a part per POST and one per farm; the last columns set each POST
// beside the syncer's model of it (syncer/capacity.ts postMs, less the client's read-back).
import process from "node:process";
import { cannotBuildNetwork, createTestNetwork, type TestNetwork } from "../lab/net/index.ts";
import { serializeFarms, type FarmPatch } from "../nftlb/index.ts";
import { postFixedMs, postMs, readBackMs, writeMs } from "../syncer/capacity.ts";
import { measuredRequest } from "./lib/raw-post.ts";
import { coldFarms } from "./lib/syncer-farms.ts";
import { helpFromHeader } from "./lib/usage.ts";
import { load } from "./lib/nftlb-cpu.ts";

const args = process.argv.slice(2);
helpFromHeader(import.meta.url, args);
const option = (name: string, fallback: string) => {
  const i = args.indexOf(name);
  return (i >= 0 ? args[i + 1] : undefined) ?? fallback;
};
const list = (s: string) => s.split(",").map(Number);
const PRESENT = list(option("--present", "0,1000,3000"));
const SIZES = list(option("--sizes", "1,10,100,500"));
const READS = Number(option("--reads", "3"));
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const ms = (x: number) => (x >= 10_000 ? `${(x / 1000).toFixed(1)} s` : `${x.toFixed(1)} ms`);

/** nftlb's ms on a CPU and the wall ms of one request. */
async function timed(net: TestNetwork, method: string, path: string, body?: string) {
  const { ms: wall, cpu } = await measuredRequest(net.nftlb, method, path, body);
  if (cpu === undefined) throw new Error("nftlb is not running");
  return { cpu: cpu.onCpu, wall };
}

/**
 * cpu ≈ F + k·g through the two smallest POSTs of a series, in which the farms present barely
 * change (within a POST of 500 each farm costs more than the one before: that is writeMs's
 * growth with the farms present, not a per-POST part).
 */
function split(points: readonly [number, number][]): { a: number; b: number } {
  const [[k1, c1], [k2, c2]] = [...points].sort(([x], [y]) => x - y) as [[number, number], [number, number]];
  const b = (c2 - c1) / (k2 - k1);
  return { a: c1 - k1 * b, b };
}

async function main() {
  const why = cannotBuildNetwork();
  if (why) {
    console.log(`bench/post-cost: skipped: ${why}`);
    return;
  }
  const perSeries = SIZES.reduce((s, k) => s + k, 0);
  const last = PRESENT.at(-1) ?? 0;
  // One plan for every farm, so marks never collide between POSTs.
  const farms = coldFarms(last + perSeries);
  let present = 0;
  const take = (k: number): FarmPatch[] => farms.slice(present, (present += k));
  const net = await createTestNetwork({ backends: 0 });
  const fits: { n: number; a: number; b: number }[] = [];
  try {
    console.log(`nftlb 1.0.7 in a network namespace; farms of 10 endpoints, client marks; load ${load()}`);
    console.log(
      `${"present".padStart(7)} | ${"k".padStart(4)} | ${"nftlb CPU".padStart(9)} | ${"wall".padStart(9)} | ${"CPU/farm".padStart(9)} | ${"model".padStart(9)} | CPU / model`,
    );
    for (const n of PRESENT) {
      if (n > present) {
        const fill = await timed(net, "POST", "/farms", serializeFarms(take(n - present)));
        console.log(
          `  (filled to ${present} farms in one POST: nftlb CPU ${ms(fill.cpu)}, wall ${ms(fill.wall)})`,
        );
      }
      const points: [number, number][] = [];
      for (const k of SIZES) {
        const at = present;
        const sent = take(k);
        const r = await timed(net, "POST", "/farms", serializeFarms(sent));
        points.push([k, r.cpu]);
        // The model's POST without the client's read-back (a raw POST reads nothing back).
        const model = postMs(sent, at) - readBackMs(at + k);
        console.log(
          `${String(at).padStart(7)} | ${String(k).padStart(4)} | ${ms(r.cpu).padStart(9)} | ${ms(r.wall).padStart(9)} | ${ms(r.cpu / k).padStart(9)} | ${ms(model).padStart(9)} | ${(r.cpu / model).toFixed(2)}×`,
        );
      }
      const { a, b } = split(points);
      fits.push({ n: present, a, b });
      // A farm's GET, of the first farms written and of the last (the ones a read-back asks for).
      const one: number[] = [];
      const newest: number[] = [];
      const all: number[] = [];
      for (let i = 0; i < READS; i++) {
        one.push((await timed(net, "GET", `/farms/${farms[i]!.name}`)).cpu);
        newest.push((await timed(net, "GET", `/farms/${farms[present - 1 - i]!.name}`)).cpu);
        all.push((await timed(net, "GET", "/farms")).cpu);
      }
      console.log(
        `  read-back with ${present} present: GET of the first farm ${ms(median(one))} CPU, of the last ${ms(median(newest))}, GET /farms ${ms(median(all))} CPU (${(median(all) / median(newest)).toFixed(1)}× the last farm's; model ${ms(readBackMs(present))}, ${(median(all) / readBackMs(present)).toFixed(2)}×)`,
      );
      // Farms nftlb already holds, sent again with their first backend set down, then up (the
      // syncer's update of a Service whose endpoints changed).
      const state = fits.length % 2 === 1 ? ("down" as const) : ("up" as const);
      const again = farms
        .slice(0, 10)
        .map((f) => ({ ...f, backends: (f.backends ?? []).map((b, i) => (i === 0 ? { ...b, state } : b)) }));
      const re = await timed(net, "POST", "/farms", serializeFarms(again));
      console.log(
        `  10 present farms sent again (a backend set ${state}): nftlb CPU ${ms(re.cpu)}, ${ms(re.cpu / 10)} a farm (model of a new farm there ${ms(writeMs(present, 10))}, ${(re.cpu / 10 / writeMs(present, 10)).toFixed(2)}×)`,
      );
    }
    console.log(`per series, nftlb CPU ≈ F + k·g from its two smallest POSTs (load ${load()}):`);
    for (const f of fits)
      console.log(
        `  ${String(f.n).padStart(5)} present at the end: F ${ms(f.a).padStart(8)} per POST (${(f.a / f.b).toFixed(2)} farms' worth; model ${ms(postFixedMs(f.n) - readBackMs(f.n))}), g ${ms(f.b).padStart(8)} per farm; F is ${(f.a / (f.a + 100 * f.b)).toFixed(3)} of a POST of 100`,
      );
  } finally {
    await net.destroy();
  }
}

await main();
