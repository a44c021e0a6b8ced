import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import process from "node:process";
import { after, describe, it } from "node:test";
import { alive, claimLock, lockOwner } from "./pid-file.ts";

const dir = mkdtempSync(path.join(tmpdir(), "pid-file-"));
after(() => rmSync(dir, { recursive: true, force: true }));

describe("pid lock files", () => {
  it("the first claim takes the lock and says whose it is; the next one finds it taken", () => {
    const file = path.join(dir, "a.lock");
    assert.equal(lockOwner(file), undefined);
    assert.equal(claimLock(file, process.pid), true);
    assert.equal(claimLock(file, 1), false);
    assert.equal(lockOwner(file), process.pid);
  });

  it("a lock holding no pid has no owner", () => {
    const file = path.join(dir, "b.lock");
    writeFileSync(file, "not a pid\n");
    assert.equal(lockOwner(file), undefined);
  });

  it("alive: this process is, and 0 or a negative number (process groups for kill) never is", () => {
    assert.equal(alive(process.pid), true);
    for (const pid of [0, -1, -process.pid, NaN]) assert.equal(alive(pid), false, String(pid));
  });

  it("a claim that fails for another reason than a taken lock throws", () => {
    assert.throws(() => claimLock(path.join(dir, "missing", "c.lock"), process.pid), /ENOENT/);
  });
});
