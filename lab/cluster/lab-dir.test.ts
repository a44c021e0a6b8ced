import { describe, it } from "node:test";
import assert from "node:assert/strict";
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
});
