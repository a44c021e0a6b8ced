// Runs the README's lab walk-through (test/readme-walkthrough.test.ts's) on N fresh labs in a
// row (default 10) and prints how many printed what they promise. Root (the lab).
//   node_modules/.bin/node scripts/walkthrough.ts [N]
import process from "node:process";
import { walkthroughOnce } from "../test/walkthrough.ts";

const n = Number(process.argv[2] ?? 10);
if (!Number.isInteger(n) || n < 1) {
  console.error(`usage: scripts/walkthrough.ts [N]  (N a whole number ≥ 1, got "${process.argv[2]}")`);
  process.exit(2);
}
let passed = 0;
for (let i = 1; i <= n; i++) {
  const started = Date.now();
  const run = await walkthroughOnce();
  if (run.ok) passed++;
  const secs = ((Date.now() - started) / 1000).toFixed(1);
  console.log(
    `run ${i}/${n}: ${run.ok ? "ok" : "FAILED"} (${secs} s)${run.ok ? "" : `\n  ${run.problems.join("\n  ")}`}`,
  );
}
console.log(`README walk-through: ${passed}/${n} fresh labs printed what it promises`);
process.exitCode = passed === n ? 0 : 1;
