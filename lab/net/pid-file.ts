// Lock files that hold their owner's pid: the test networks' slots (slots.ts) and a lab's
// directory (lab/cluster/lab-dir.ts). Creating one is the claim (O_EXCL), so two processes never
// both hold it; a lock whose owner died is stale, for its user to clean up and claim again.
import { closeSync, openSync, readFileSync, writeSync } from "node:fs";
import process from "node:process";

/** Whether a process with this pid exists (EPERM: it does, owned by another user). */
export const alive = (pid: number): boolean => {
  // kill(0) and kill(-n) would signal process groups, not look at one process
  if (!(pid > 0)) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
};

/** The pid a lock file holds; undefined when there is none or it holds no pid. */
export const lockOwner = (file: string): number | undefined => {
  try {
    return Number(readFileSync(file, "utf8").trim()) || undefined;
  } catch {
    return undefined;
  }
};

/** Creates the lock file holding `pid`; false when it exists already (taken). */
export const claimLock = (file: string, pid: number, mode = 0o644): boolean => {
  try {
    const fd = openSync(file, "wx", mode);
    writeSync(fd, String(pid));
    closeSync(fd);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "EEXIST") return false;
    throw err;
  }
};
