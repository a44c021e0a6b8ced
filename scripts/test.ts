// Runs every test file with node's built-in runner and fails on a failure, an error, or — in CI —
// any skipped test: a test that needs root or kubectl must run in CI, never pass by skipping.
import { run } from "node:test";
import { spec } from "node:test/reporters";
import { globSync } from "node:fs";
import process from "node:process";

const args = process.argv.slice(2);
const files = (args.length > 0 ? args : ["**/*.test.ts", "test/**/*.test.ts"])
  .flatMap((pattern) => globSync(pattern, { exclude: (f) => f.includes("node_modules") }))
  .filter((f, i, all) => all.indexOf(f) === i)
  .sort();

const ci = process.env.CI === "true" || process.env.CI === "1";
let failed = 0;
let skipped = 0;
const skippedNames: string[] = [];

const stream = run({ files, concurrency: Number(process.env.TEST_CONCURRENCY ?? 2), isolation: "process" });
stream.on("test:fail", (e) => {
  if (e.details.type !== "suite") failed++;
});
stream.on("test:pass", (e) => {
  if (e.skip !== undefined && e.skip !== false) {
    skipped++;
    skippedNames.push(`${e.file ?? ""}: ${e.name}${typeof e.skip === "string" ? ` (${e.skip})` : ""}`);
  }
});
stream.compose(spec).pipe(process.stdout);

await new Promise<void>((resolve) => stream.on("end", () => resolve()));

if (skipped > 0) {
  const banner = ci ? "FAIL: tests were skipped in CI" : "WARNING: tests were skipped on this machine";
  console.error(`\n${"!".repeat(72)}\n${banner}:\n  ${skippedNames.join("\n  ")}\n${"!".repeat(72)}`);
}
if (files.length === 0) {
  console.error("no test files found");
  process.exitCode = 1;
} else if (failed > 0 || (ci && skipped > 0)) {
  process.exitCode = 1;
}
