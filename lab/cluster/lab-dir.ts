// A lab's directory: lab.lock (the supervisor's pid; one lab per directory), lab.json (what the
// running lab is), kubeconfig, nftlb.key, tls/, logs/. Helpers for up/down to claim, read and
// clean it.
import { existsSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import type { LabInfo } from "./info.ts";
import { alive, claimLock, lockOwner } from "../net/pid-file.ts";

export const files = (dir: string) => ({
  lock: path.join(dir, "lab.lock"),
  info: path.join(dir, "lab.json"),
  error: path.join(dir, "lab.error"),
  log: path.join(dir, "logs", "lab.log"),
});

export { alive };

export const lockPid = (dir: string): number | undefined => lockOwner(files(dir).lock);

/** Takes the directory's lock for `pid`; false when it is already taken. */
export const claim = (dir: string, pid: number): boolean => claimLock(files(dir).lock, pid, 0o600);

export const setLock = (dir: string, pid: number) =>
  writeFileSync(files(dir).lock, String(pid), { mode: 0o600 });

/**
 * Writes lab.json whole or not at all: `up` polls for it, and a reader between the file's creation
 * and its write would see it empty ("Unexpected end of JSON input", 2 of 10 fresh labs).
 */
export const writeInfo = (dir: string, info: LabInfo) => {
  const f = files(dir).info;
  writeFileSync(`${f}.tmp`, `${JSON.stringify(info, null, 2)}\n`, { mode: 0o600 });
  renameSync(`${f}.tmp`, f);
};

export type ReadInfo = { ok: true; info: LabInfo } | { ok: false; error: string };

export const readInfo = (dir: string): ReadInfo => {
  const f = files(dir).info;
  if (!existsSync(f)) return { ok: false, error: `no lab.json in ${dir}` };
  try {
    const info = JSON.parse(readFileSync(f, "utf8")) as LabInfo;
    if (info.version !== 1 || typeof info.slot !== "number" || typeof info.pids?.supervisor !== "number")
      return { ok: false, error: `${f} is not a lab.json this lab wrote` };
    return { ok: true, info };
  } catch (err) {
    return { ok: false, error: `${f}: ${(err as Error).message}` };
  }
};

/** Removes what a lab leaves in its directory, except the logs. */
export const cleanDir = (dir: string) => {
  for (const f of [
    "lab.json",
    "lab.json.tmp",
    "lab.lock",
    "lab.error",
    "kubeconfig",
    "nftlb.key",
    "nftlb-2.key",
    "conntrack.sock",
    "conntrack-2.sock",
    "tls",
  ])
    rmSync(path.join(dir, f), { recursive: true, force: true });
};
