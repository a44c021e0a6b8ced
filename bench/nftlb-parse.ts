// What reading nftlb's farms costs the syncer's CPU: nftlb/parse.ts's parseFarms of one
// GET /farms answer of N farms × 10 backends (default 10,000), alone and with the earlier copies
// the client passes (nftlb/client.ts: the farms it last read, and those it just wrote), which it
// takes unchanged backends and equal strings from. No nftlb, no root: the farms are the ones the
// syncer writes for the benchmarks' Services (bench/lib/syncer-farms.ts), and the answer is them
// as nftlb lists them (every backend's weight, priority and state). Prints medians side by side
// and their ratio to the parse alone; never asserts.
// `node bench/nftlb-parse.ts [N]` or `npm run bench -- nftlb-parse`.
import process from "node:process";
import { parseFarms } from "../nftlb/parse.ts";
import { listedByNftlb } from "../nftlb/farm-fixture.test-helpers.ts";
import { coldFarms } from "./lib/syncer-farms.ts";
import { helpFromHeader } from "./lib/usage.ts";

helpFromHeader(import.meta.url, process.argv.slice(2));

const N = Number(process.argv[2] ?? 10_000);
if (!Number.isInteger(N) || N < 1 || N > 60_000) {
  console.error("usage: node bench/nftlb-parse.ts [FARMS 1..60000]");
  process.exit(2);
}
const ROUNDS = 7;
const written = coldFarms(N);
// The answer as nftlb 1.0.7 prints it: every field, 8-space indent (~5× a compact listing).
const body = JSON.stringify({ farms: written.map((f) => listedByNftlb(f, () => 1)) }, null, 8);
const first = parseFarms(body);
if (!first.ok) throw new Error(first.message);
const read = new Map(first.value.map((f) => [f.name, f]));
const sent = new Map(written.map((f) => [f.name, f]));

const median = (fn: () => unknown): number => {
  const ms: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    const t = performance.now();
    fn();
    ms.push(performance.now() - t);
  }
  return ms.sort((a, b) => a - b)[ROUNDS >> 1]!;
};
console.log(
  `parseFarms of one GET /farms answer: ${N.toLocaleString("en")} farms × 10 backends, ` +
    `${(body.length / 2 ** 20).toFixed(1)} MiB; median of ${ROUNDS}`,
);
const variants: [string, () => unknown][] = [
  ["alone (no earlier copies)", () => parseFarms(body)],
  ["with the farms last read", () => parseFarms(body, (n) => ({ read: read.get(n) }))],
  [
    "with the farms last read and just written",
    () => parseFarms(body, (n) => ({ read: read.get(n), sent: sent.get(n) })),
  ],
  ["with the farms just written only (a cold start)", () => parseFarms(body, (n) => ({ sent: sent.get(n) }))],
];
// Every variant once before any is timed, so that none is measured while the JIT warms up.
for (const [, fn] of variants) fn();
const rows = variants.map(([what, fn]): [string, number] => [what, median(fn)]);
const alone = rows[0]![1];
for (const [what, ms] of rows)
  console.log(`${what.padEnd(48)} | ${`${ms.toFixed(0)} ms`.padStart(8)} | ${(ms / alone).toFixed(2)}×`);
