// Workload kinds the stand-in stores but nothing runs: a create gets a Warning (kubectl prints
// `Warning: ...`), so an operator trying deploy/ or a tutorial's manifest against the lab knows
// no Pods will follow. Which kinds run depends on the controllers attached (the lab attaches
// Deployments and ReplicaSets, lab/controllers); a bare stand-in runs none.
import type { Resource } from "./resources.ts";
import { qualifiedName } from "./resources.ts";

const WORKLOADS = ["Deployment", "ReplicaSet", "DaemonSet", "Job", "CronJob"];

export function notRunWarning(res: Resource, running: ReadonlySet<string>): string | undefined {
  if (!WORKLOADS.includes(res.kind) || running.has(res.kind)) return undefined;
  const runs = WORKLOADS.filter((k) => running.has(k));
  const what =
    runs.length === 0
      ? "no controllers are attached to this lab API server"
      : `the lab runs only ${runs.join(", ")}`;
  return `${qualifiedName(res)} are stored but not run: no controller creates their Pods (${what})`;
}
