// The lab's scheduler: binds every Pod without `spec.nodeName` to the lab node holding the fewest
// Pods (the first such node on a tie), one Pod at a time, so Pods created together spread over
// the nodes. Each node's kubelet (lab/pods/) then runs only the Pods bound to it. A Pod that
// names its node (`spec.nodeName`, as users may write) is left where it says.
import { workLoop } from "../controllers/work.ts";
import { MERGE_PATCH, type ApiClient } from "./api-client.ts";
import type { LabPod, PodSource } from "../pods/lab-pod.ts";

export interface Scheduler {
  stop(): void;
}

export function startScheduler(o: {
  pods: PodSource;
  api: ApiClient;
  nodes: readonly string[];
  log: (line: string) => void;
}): Scheduler {
  const keyOf = (p: LabPod) => `${p.metadata.namespace ?? "default"}/${p.metadata.name ?? ""}`;
  // Serial (concurrency 1): each choice sees the bindings made before it.
  const loop = workLoop(
    async (key) => {
      const [ns = "", name = ""] = key.split("/");
      const pod = o.pods.get(ns, name);
      if (pod === undefined || pod.spec?.nodeName || pod.metadata.deletionTimestamp !== undefined)
        return undefined;
      const load = new Map(o.nodes.map((n) => [n, 0]));
      for (const p of o.pods.list()) {
        const n = p.spec?.nodeName;
        if (n !== undefined && load.has(n)) load.set(n, load.get(n)! + 1);
      }
      const node = [...load].reduce((best, cur) => (cur[1] < best[1] ? cur : best))[0];
      const r = await o.api.request(
        "PATCH",
        `/api/v1/namespaces/${ns}/pods/${name}`,
        { spec: { nodeName: node } },
        MERGE_PATCH,
      );
      if (!r.ok && r.status !== 404) throw new Error(r.error);
      if (r.ok) o.log(`pod ${key}: scheduled to ${node}`);
      return undefined;
    },
    { concurrency: 1, onError: (key, err) => o.log(`schedule ${key}: ${(err as Error).message} (retrying)`) },
  );
  const unwatch = o.pods.watch((p) => loop.add(keyOf(p)));
  for (const p of o.pods.list()) loop.add(keyOf(p));
  return {
    stop: () => {
      unwatch();
      loop.stop();
    },
  };
}
