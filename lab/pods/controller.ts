// The lab's kubelet: for every Pod it gives a sandbox (a network namespace with a pod IP, routed
// through the node namespace, a server on each declared port), then reports the Pod Running with
// its IP and a Ready condition. The stand-in deletes at once (no graceful deletion), so the
// controller holds a finalizer: a deleted Pod stays, terminating, for `terminationDelayMs`, then
// its sandbox goes and the finalizer with it. A port a Service targets that no container declares
// is served too, with an Event saying so (./service-ports.ts).
import { workLoop } from "../controllers/work.ts";
import type { ApiClient } from "../cluster/api-client.ts";
import { MERGE_PATCH } from "../cluster/api-client.ts";
import { createSandbox, type Sandbox } from "./sandbox.ts";
import { readiness, runningStatus } from "./status.ts";
import { undeclaredPortEvent, undeclaredServicePorts, type ServiceForPorts } from "./service-ports.ts";
import type { Source } from "../controllers/endpointslice-controller.ts";
import { portsOf, type LabPod, type PodNetwork, type PodSource } from "./lab-pod.ts";
import { PodRange } from "./pod-range.ts";

export const FINALIZER = "lab.kube-nftlb.io/pod-sandbox";

export interface PodControllerOptions {
  pods: PodSource;
  /** Services, to answer on the ports they target that the Pod does not declare */
  services?: Source<ServiceForPorts>;
  api: ApiClient;
  nodeName: string;
  hostIP: string;
  network: PodNetwork;
  readyDelayMs: number;
  terminationDelayMs: number;
  log: (line: string) => void;
  clock?: () => number;
}

interface Running {
  uid: string;
  index: number;
  sandbox: Sandbox;
  startedAt: number;
  ready: boolean | undefined;
  transitionAt: number;
  /** undeclared ports already told in an Event, `TCP/80` */
  announced: Set<string>;
}

export interface PodController {
  /** pod key → sandbox namespace and IP */
  sandboxes(): Map<string, { ns: string; ip: string }>;
  idle(): Promise<void>;
  stop(): Promise<void>;
}

export function startPodController(o: PodControllerOptions): PodController {
  const now = o.clock ?? Date.now;
  const running = new Map<string, Running>();
  const range = new PodRange(o.network.lastHost - o.network.firstHost + 1);

  const pathOf = (ns: string, name: string) => `/api/v1/namespaces/${ns}/pods/${name}`;
  const undeclaredOf = (pod: LabPod) =>
    undeclaredServicePorts(
      { namespace: pod.metadata.namespace ?? "default", labels: pod.metadata.labels, declared: portsOf(pod) },
      o.services?.list(pod.metadata.namespace ?? "default") ?? [],
    );

  /** Opens the undeclared ports Services target and tells each once, as kubelet's Events do. */
  const serveUndeclared = async (pod: LabPod, r: Running) => {
    const fresh = undeclaredOf(pod).filter((p) => !r.announced.has(`${p.protocol}/${p.port}`));
    if (fresh.length === 0) return;
    await r.sandbox.listen(fresh);
    for (const p of fresh) {
      const ns = pod.metadata.namespace ?? "default";
      const e = await o.api.request(
        "POST",
        `/api/v1/namespaces/${ns}/events`,
        undeclaredPortEvent(pod.metadata, p, o.nodeName, now()),
      );
      if (!e.ok) throw new Error(e.error);
      r.announced.add(`${p.protocol}/${p.port}`);
      o.log(
        `pod ${ns}/${pod.metadata.name ?? ""}: answering on undeclared ${p.port}/${p.protocol} (${p.service})`,
      );
    }
  };

  const teardown = async (key: string) => {
    const r = running.get(key);
    if (r === undefined) return;
    running.delete(key);
    await r.sandbox.destroy();
    range.free(r.index);
  };

  const reconcile = async (key: string): Promise<number | undefined> => {
    const [ns = "", name = ""] = key.split("/");
    const pod = o.pods.get(ns, name);
    const mine = running.get(key);
    if (pod === undefined || (mine !== undefined && pod.metadata.uid !== mine.uid)) {
      // Gone (or replaced by a new Pod of the same name): the old sandbox goes.
      await teardown(key);
      if (pod === undefined) return undefined;
    }
    // The lab's scheduler (lab/cluster/scheduler.ts) binds Pods; this kubelet runs only its own.
    if (!running.has(key) && pod.spec?.nodeName !== o.nodeName) return undefined;
    const finalizers = pod.metadata.finalizers ?? [];
    if (pod.metadata.deletionTimestamp !== undefined) {
      if (!finalizers.includes(FINALIZER)) {
        await teardown(key);
        return undefined;
      }
      const due = Date.parse(pod.metadata.deletionTimestamp) + o.terminationDelayMs;
      if (running.has(key) && now() < due) return due;
      await teardown(key);
      const r = await o.api.request(
        "PATCH",
        pathOf(ns, name),
        { metadata: { finalizers: finalizers.filter((f) => f !== FINALIZER) } },
        MERGE_PATCH,
      );
      if (!r.ok && r.status !== 404) throw new Error(r.error);
      o.log(`pod ${key}: sandbox removed`);
      return undefined;
    }
    let r = running.get(key);
    if (r === undefined) {
      // Finalizer first: from here on a delete waits for us to clean up.
      const claim = await o.api.request(
        "PATCH",
        pathOf(ns, name),
        { metadata: { finalizers: [...finalizers.filter((f) => f !== FINALIZER), FINALIZER] } },
        MERGE_PATCH,
      );
      if (!claim.ok) {
        if (claim.status === 404) return undefined;
        throw new Error(claim.error);
      }
      const index = range.take();
      const n = o.network;
      let sandbox: Sandbox;
      try {
        sandbox = await createSandbox({
          ns: `${n.nsPrefix}${index}`,
          nodeNs: n.nodeNs,
          bridge: n.bridge,
          nodeIface: `p${index}`,
          ip: `${n.ipPrefix}${n.firstHost + index}`,
          prefixLength: n.prefixLength,
          gateway: n.gateway,
          podName: name,
          ports: [...portsOf(pod), ...undeclaredOf(pod)],
        });
      } catch (err) {
        range.free(index);
        throw err;
      }
      r = {
        uid: pod.metadata.uid ?? "",
        index,
        sandbox,
        startedAt: now(),
        ready: undefined,
        transitionAt: now(),
        announced: new Set(),
      };
      running.set(key, r);
      o.log(`pod ${key}: sandbox ${sandbox.ns} at ${sandbox.ip}`);
    }
    // Before the first Ready: a Pod is never Ready while a port its Services target is closed.
    await serveUndeclared(pod, r);
    const ready = readiness(pod.metadata.annotations, r.startedAt, now(), o.readyDelayMs);
    const reported = pod.status?.conditions?.find((c) => c.type === "Ready")?.status;
    if (r.ready !== ready.ready || reported !== (ready.ready ? "True" : "False")) {
      if (r.ready !== ready.ready) r.transitionAt = now();
      const status = runningStatus({
        podIP: r.sandbox.ip,
        hostIP: o.hostIP,
        startedAt: r.startedAt,
        transitionAt: r.transitionAt,
        readiness: ready,
        containers: (pod.spec?.containers ?? []).map((c, i) => c.name ?? `c${i}`),
      });
      const w = await o.api.request("PATCH", `${pathOf(ns, name)}/status`, { status }, MERGE_PATCH);
      if (!w.ok) {
        if (w.status === 404) return undefined;
        throw new Error(w.error);
      }
      r.ready = ready.ready;
    }
    return ready.recheckAt;
  };

  const loop = workLoop(reconcile, {
    concurrency: 8,
    onError: (key, err) => o.log(`pod ${key}: ${(err as Error).message} (retrying)`),
  });
  const keyOf = (p: LabPod) => `${p.metadata.namespace ?? "default"}/${p.metadata.name ?? ""}`;
  const unwatch = o.pods.watch((p) => loop.add(keyOf(p)));
  for (const p of o.pods.list()) loop.add(keyOf(p));
  // A Service's ports change which ports its Pods must answer on: look at its namespace's Pods.
  const unwatchServices = o.services?.watch((svc) => {
    for (const p of o.pods
      .list()
      .filter((x) => (x.metadata.namespace ?? "default") === (svc.metadata.namespace ?? "default")))
      loop.add(keyOf(p));
  });

  return {
    sandboxes: () => new Map([...running].map(([k, v]) => [k, { ns: v.sandbox.ns, ip: v.sandbox.ip }])),
    idle: () => loop.idle(),
    stop: async () => {
      unwatch();
      unwatchServices?.();
      loop.stop();
      await Promise.all([...running.keys()].map((k) => teardown(k)));
    },
  };
}
