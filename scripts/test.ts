// Runs every test file with node's built-in runner and fails on a failure, an error, a file that
// outlives its deadline, or — in CI — any skipped test: a test that needs root or kubectl must
// run in CI, never pass by skipping. A failing test marked `todo` names an open defect (its
// text says which): it is listed in a banner after every run, never counted as passing or as a
// red run, so a known defect stays visible without hiding the suite's other failures.
import { run } from "node:test";
import { spec } from "node:test/reporters";
import { globSync } from "node:fs";
import { resolve } from "node:path";
import process from "node:process";
import { fileDeadlines } from "./file-timeout.ts";

// Ten minutes a file: the slowest file takes about 100 s alone (test/deploy-image.test.ts: an
// npm ci and a TypeScript build) and a few times that beside the rest of the suite on a shared
// 2-core machine, so a file still running at ten minutes is hung; a hung CI job then ends in
// minutes, not at the CI's own limit of hours. TEST_FILE_TIMEOUT_MS overrides it (a slower
// machine, or a tiny value to see the deadline work).
const timeoutMs = Number(process.env.TEST_FILE_TIMEOUT_MS ?? 600_000);
if (!Number.isSafeInteger(timeoutMs) || timeoutMs <= 0) {
  console.error(
    `TEST_FILE_TIMEOUT_MS must be a positive whole number of milliseconds, not "${process.env.TEST_FILE_TIMEOUT_MS}"`,
  );
  process.exit(2);
}

const args = process.argv.slice(2);
const files = (args.length > 0 ? args : ["**/*.test.ts", "test/**/*.test.ts"])
  .flatMap((pattern) => globSync(pattern, { exclude: (f) => f.includes("node_modules") }))
  .filter((f, i, all) => all.indexOf(f) === i)
  .sort();

const ci = process.env.CI === "true" || process.env.CI === "1";
let failed = 0;
let skipped = 0;
const skippedNames: string[] = [];
const openDefects: string[] = [];

const deadlines = fileDeadlines(timeoutMs, (line) => console.error(`\n${line}`));
// A file's own entry in the runner's events is the one named by the file's path.
const isFile = (e: { name: string; file?: string | undefined }) =>
  e.file !== undefined && resolve(e.name) === e.file;

const stream = run({ files, concurrency: Number(process.env.TEST_CONCURRENCY ?? 2), isolation: "process" });
stream.on("test:dequeue", (e) => {
  if (isFile(e)) deadlines.started(e.file!);
});
// test:complete, not test:pass/test:fail: those come in reporting order, after earlier files.
stream.on("test:complete", (e) => {
  if (isFile(e)) deadlines.finished(e.file!);
});
stream.on("test:fail", (e) => {
  if (e.todo !== undefined && e.todo !== false)
    openDefects.push(`${e.file ?? ""}: ${e.name}${typeof e.todo === "string" ? ` (${e.todo})` : ""}`);
  else if (e.details.type !== "suite") failed++;
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
if (openDefects.length > 0) {
  console.error(
    `\n${"!".repeat(72)}\nOPEN DEFECTS: ${openDefects.length} test(s) marked todo failed this run:\n  ${openDefects.join("\n  ")}\n${"!".repeat(72)}`,
  );
}
if (deadlines.expired.length > 0) {
  console.error(
    `\n${"!".repeat(72)}\nFAIL: test files still running after ${timeoutMs} ms (TEST_FILE_TIMEOUT_MS), killed:\n  ${deadlines.expired.join("\n  ")}\n${"!".repeat(72)}`,
  );
}
if (files.length === 0) {
  console.error("no test files found");
  process.exitCode = 1;
} else if (failed > 0 || deadlines.expired.length > 0 || (ci && skipped > 0)) {
  process.exitCode = 1;
}
