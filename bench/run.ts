// `npm run bench [-- NAME... [OPTIONS]]`: runs bench/NAME.ts (every benchmark when no name is
// given), one after the other, each in its own Node process so one cannot skew another, with the
// arguments that are not benchmark names (`npm run bench -- lab-scale 200 --help`). Prints, never
// asserts.
import { spawnSync } from "node:child_process";
import { readdirSync } from "node:fs";
import path from "node:path";
import process from "node:process";

const dir = path.dirname(new URL(import.meta.url).pathname);
const argv = process.argv.slice(2);
const names = new Set(list());
const args = argv.filter((a) => names.has(a));
const options = argv.filter((a) => !names.has(a));
if (args.length === 0 && options.includes("--help")) {
  console.log("usage: npm run bench [-- NAME... [OPTIONS]]   benchmarks:", list().join(", "));
  process.exit(0);
}
function list(): string[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith(".ts") && f !== "run.ts" && !f.includes(".test."))
    .map((f) => f.slice(0, -3))
    .sort();
}
let failed = 0;
for (const name of args.length > 0 ? args : list()) {
  console.log(`\n== bench/${name}.ts`);
  const res = spawnSync(process.execPath, [path.join(dir, `${name}.ts`), ...options], { stdio: "inherit" });
  if (res.status !== 0) failed++;
}
process.exitCode = failed > 0 ? 1 : 0;
