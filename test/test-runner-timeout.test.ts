// scripts/test.ts gives every test file a deadline: a file that hangs — in a test, in top-level
// code, by an open handle after its last test, or with its event loop blocked — is killed with
// the processes it started, named, and fails the run; the other files still run and report.
import { after, test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { processes } from "../scripts/file-timeout.ts";

const RUNNER = join(import.meta.dirname, "..", "scripts", "test.ts");
const dir = mkdtempSync(join(tmpdir(), "test-runner-timeout-"));

const FILES: Record<string, string> = {
  "passes.test.ts": 'import { test } from "node:test";\ntest("passes", () => {});\n',
  "hangs-in-a-test.test.ts":
    'import { test } from "node:test";\ntest("waits forever", async () => {\n  setInterval(() => {}, 1000);\n  await new Promise(() => {});\n});\n',
  "hangs-at-top-level.test.ts":
    'import { test } from "node:test";\nsetInterval(() => {}, 1000);\nawait new Promise(() => {});\ntest("never reached", () => {});\n',
  "keeps-a-handle.test.ts":
    'import { test } from "node:test";\ntest("done, but", () => {});\nsetInterval(() => {}, 1000);\n',
  // A blocked event loop, with a grandchild the kill must take too.
  "blocks-its-loop.test.ts":
    'import { test } from "node:test";\nimport { spawnSync } from "node:child_process";\nimport { join } from "node:path";\ntest("sync", () => {\n  spawnSync(join(import.meta.dirname, "sleep"), ["3600"]);\n});\n',
};
for (const [name, text] of Object.entries(FILES)) writeFileSync(join(dir, name), text);
// Called by its path in dir, so a surviving grandchild is found by its command line too.
symlinkSync("/bin/sleep", join(dir, "sleep"));

/** Processes whose command line names a file in `dir`: the hung files and the sleep. */
// Without node:test's marker that this process is a test file's child, the runner runs as from a shell.
const { NODE_TEST_CONTEXT: _, ...env } = process.env;

const leftovers = () =>
  processes()
    .filter((p) => p.pid !== process.pid && p.args.some((a) => a.includes(dir)))
    .map((p) => p.pid);

after(() => {
  // What a failing run left behind (today's: every hung file, and the sleep) must not outlive it.
  for (const pid of leftovers()) process.kill(pid, "SIGKILL");
  rmSync(dir, { recursive: true, force: true });
});

test("hung files are killed, named and fail the run; the rest report", async () => {
  const files = Object.keys(FILES).map((f) => join(dir, f));
  // 8 s: far more than a passing file needs to start and end on a loaded machine, and a hung one
  // never ends. The spawn limit only keeps a stalled runner from hanging this test.
  const child = spawn(process.execPath, [RUNNER, ...files], {
    env: { ...env, TEST_FILE_TIMEOUT_MS: "8000", TEST_CONCURRENCY: "5", CI: "" },
    stdio: ["ignore", "pipe", "pipe"],
    timeout: 60_000,
    killSignal: "SIGKILL",
  });
  let out = "";
  child.stdout.on("data", (b: Buffer) => (out += b.toString()));
  child.stderr.on("data", (b: Buffer) => (out += b.toString()));
  const [code, signal] = await new Promise<[number | null, string | null]>((r) =>
    child.on("exit", (c, s) => r([c, s])),
  );
  assert.deepEqual({ code, signal }, { code: 1, signal: null }, out);
  assert.match(out, /✔ passes/);
  for (const name of Object.keys(FILES).filter((f) => f !== "passes.test.ts"))
    assert.match(
      out,
      new RegExp(`${name}: still running after 8000 ms \\(TEST_FILE_TIMEOUT_MS\\); killed`),
      out,
    );
  assert.match(out, /FAIL: test files still running after 8000 ms/);
  assert.doesNotMatch(out, /passes\.test\.ts: still running/);
  assert.deepEqual(leftovers(), [], "the hung files' processes are gone");
});

test("a TEST_FILE_TIMEOUT_MS that is no number of milliseconds is refused", async () => {
  const child = spawn(process.execPath, [RUNNER, join(dir, "passes.test.ts")], {
    env: { ...env, TEST_FILE_TIMEOUT_MS: "10s" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let err = "";
  child.stderr.on("data", (b: Buffer) => (err += b.toString()));
  const code = await new Promise<number | null>((r) => child.on("exit", r));
  assert.equal(code, 2);
  assert.match(err, /TEST_FILE_TIMEOUT_MS must be a positive whole number of milliseconds, not "10s"/);
});
