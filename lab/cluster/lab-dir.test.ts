import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { claim, files, lockPid, readInfo } from "./lab-dir.ts";

describe("lab directory", () => {
  it("one claim per directory", () => {
    const dir = mkdtempSync(path.join(tmpdir(), "lab-dir-"));
    try {
      assert.equal(claim(dir, 111), true);
      assert.equal(claim(dir, 222), false);
      assert.equal(lockPid(dir), 111);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
  it("garbage lab.json and lock files are reported, never trusted", () => {
    const dir = mkdtempSync(path.join(tmpdir(), "lab-dir-"));
    try {
      assert.match((readInfo(dir) as { error: string }).error, /no lab\.json/);
      for (const text of ["", "{", "[]", "null", '{"version":2}', '{"version":1,"slot":"x"}']) {
        writeFileSync(files(dir).info, text);
        const r = readInfo(dir);
        assert.equal(r.ok, false, text);
      }
      writeFileSync(files(dir).lock, "not a pid");
      assert.equal(lockPid(dir), undefined);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
  it("a reader polling for lab.json never sees it half written (as `up` polls)", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), "lab-dir-"));
    try {
      // Big enough that writing it is not instant; another process writes it over and over.
      const writer = spawn(
        process.execPath,
        [
          "--input-type=module",
          "-e",
          `import { writeInfo } from ${JSON.stringify(path.join(import.meta.dirname, "lab-dir.ts"))};
           const info = { version: 1, slot: 1, pids: { supervisor: 1 }, padding: "x".repeat(1 << 16) };
           for (let i = 0; i < 500; i++) writeInfo(process.argv[1], info);`,
          dir,
        ],
        { stdio: ["ignore", "ignore", "inherit"] },
      );
      const done = new Promise<number | null>((resolve) => writer.once("exit", resolve));
      let exited = false;
      void done.then(() => (exited = true));
      const seen = { whole: 0, broken: [] as string[] };
      while (!exited) {
        const r = readInfo(dir);
        if (r.ok) seen.whole++;
        else if (!/no lab\.json/.test(r.error)) seen.broken.push(r.error);
        await new Promise((resolve) => setImmediate(resolve));
      }
      assert.equal(await done, 0, "the writer ran");
      assert.ok(seen.whole > 0, "the reader saw lab.json");
      assert.deepEqual(seen.broken.slice(0, 3), []);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
