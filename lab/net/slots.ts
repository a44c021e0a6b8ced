// Each test network takes a numbered slot: its namespaces are `knl<slot>-…` and its addresses
// 10.201–10.204.<slot>.x. Test files run in parallel, so a slot is claimed with an exclusive lock
// file holding the owner's pid; a slot whose owner died is cleaned and reused.
import { mkdirSync, readdirSync, unlinkSync } from "node:fs";
import process from "node:process";
import { alive, claimLock, lockOwner } from "./pid-file.ts";
import { runQuiet } from "./sys.ts";

export const PREFIX = "knl";
const LOCKS = "/run/kube-nftlb-lab";

const lockOf = (slot: number) => `${LOCKS}/${slot}.lock`;

export const namespacesOf = (slot: number): string[] =>
  runQuiet(["ip", "netns", "list"])
    .split("\n")
    .map((l) => l.split(" ")[0] ?? "")
    .filter((ns) => ns.startsWith(`${PREFIX}${slot}-`));

/** Kills what runs in a slot's namespaces, deletes them and the host end of its API link. Synchronous. */
export const removeSlot = (slot: number): void => {
  for (const ns of namespacesOf(slot)) {
    for (const pid of runQuiet(["ip", "netns", "pids", ns]).split("\n").filter(Boolean)) {
      try {
        process.kill(Number(pid), "SIGKILL");
      } catch {
        // already gone
      }
    }
    runQuiet(["ip", "netns", "del", ns]);
  }
  runQuiet(["ip", "link", "del", `${PREFIX}${slot}-api`]);
  runQuiet(["ip", "link", "del", `${PREFIX}${slot}-api2`]);
};

/** Removes every slot left behind by a run that crashed (owner dead or no lock at all). */
export const cleanupStale = (): number[] => {
  mkdirSync(LOCKS, { recursive: true });
  const slots = new Set<number>();
  for (const line of runQuiet(["ip", "netns", "list"]).split("\n")) {
    const m = new RegExp(`^${PREFIX}(\\d+)-`).exec(line);
    if (m) slots.add(Number(m[1]));
  }
  for (const f of readdirSync(LOCKS)) {
    const m = /^(\d+)\.lock$/.exec(f);
    if (m) slots.add(Number(m[1]));
  }
  const removed: number[] = [];
  for (const slot of slots) {
    const owner = lockOwner(lockOf(slot));
    if (owner !== undefined && alive(owner)) continue;
    removeSlot(slot);
    try {
      unlinkSync(lockOf(slot));
    } catch {
      // no lock: the namespaces were orphans
    }
    removed.push(slot);
  }
  return removed;
};

export const claimSlot = (): number => {
  cleanupStale();
  const start = (process.pid % 250) + 1;
  for (let i = 0; i < 250; i++) {
    const slot = ((start + i - 1) % 250) + 1;
    if (claimLock(lockOf(slot), process.pid)) return slot;
    // taken: try the next one
  }
  throw new Error(`no free test-network slot in ${LOCKS}`);
};

export const releaseSlot = (slot: number): void => {
  removeSlot(slot);
  try {
    unlinkSync(lockOf(slot));
  } catch {
    // already released
  }
};
