// Every benchmark answers --help with its usage (its file's opening comment) and exits 0 without
// running, and bench/syncer.ts refuses an argument it does not know instead of running every
// benchmark without it. No root: --help returns before anything is built.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import process from "node:process";

const dir = path.join(import.meta.dirname, "..", "bench");
const benches = readdirSync(dir).filter((f) => f.endsWith(".ts") && f !== "run.ts" && !f.includes(".test."));
// A bench that ignored --help would start its run (minutes, namespaces); cut it off and say so.
const run = (file: string, ...args: string[]) =>
  spawnSync(process.execPath, [path.join(dir, file), ...args], { encoding: "utf8", timeout: 120_000 });

for (const file of benches) {
  test(`bench/${file} --help prints its usage and exits 0`, () => {
    const r = run(file, "--help");
    assert.equal(r.signal, null, `bench/${file} --help did not exit: it ran the benchmark`);
    assert.equal(r.status, 0, r.stderr);
    const first = readFileSync(path.join(dir, file), "utf8")
      .split("\n")[0]!
      .replace(/^\/\/ ?/, "");
    assert.ok(
      r.stdout.startsWith(first),
      `usage starts with the file's opening comment: ${r.stdout.slice(0, 200)}`,
    );
  });
}

test("bench/run.ts --help lists the benchmarks", () => {
  const r = run("run.ts", "--help");
  assert.equal(r.status, 0, r.stderr);
  for (const f of benches) assert.ok(r.stdout.includes(f.slice(0, -3)), `${f} listed`);
});

for (const bad of [["--node-rule"], ["A"], ["a", "--post-windows"], ["--rounds", "3"]]) {
  test(`bench/syncer.ts ${bad.join(" ")}: refused with exit 2 and the usage, nothing run`, () => {
    const r = run("syncer.ts", ...bad);
    assert.equal(r.status, 2, r.stdout + r.stderr);
    assert.match(r.stderr, /^(unknown argument "|--post-windows needs a value)/);
    assert.match(r.stderr, /usage: node bench\/syncer\.ts/);
  });
}
