// Removing a lab whatever state its supervisor died in, and checking nothing is left: its
// network namespaces (and what runs in them: nftlb, syncer, webhook, pod servers, so also every
// nftables table and veth, which live there), the host end of its API link, its slot lock.
import { removeSlot, namespacesOf } from "../net/slots.ts";
import { runQuiet } from "../net/sys.ts";
import { readFileSync, rmSync } from "node:fs";
import { alive } from "./lab-dir.ts";
import type { LabInfo } from "./info.ts";

export function removeLab(info: LabInfo): void {
  // The slot may have been taken by another lab since ours died: never remove a living owner's.
  let owner = 0;
  try {
    owner = Number(readFileSync(`/run/kube-nftlb-lab/${info.slot}.lock`, "utf8"));
  } catch {
    // no lock: nobody owns the slot
  }
  if (owner !== info.pids.supervisor && alive(owner)) return;
  removeSlot(info.slot);
  rmSync(`/run/kube-nftlb-lab/${info.slot}.lock`, { force: true });
}

export function leftovers(info: LabInfo): string[] {
  const left: string[] = [];
  for (const ns of namespacesOf(info.slot)) left.push(`network namespace ${ns}`);
  for (const veth of [`knl${info.slot}-api`, `knl${info.slot}-api2`])
    if (runQuiet(["ip", "-o", "link", "show", veth]).trim() !== "") left.push(`veth ${veth}`);
  for (const [name, pid] of Object.entries(info.pids)) if (alive(pid)) left.push(`process ${name} (${pid})`);
  return left;
}
