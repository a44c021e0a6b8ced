// One lab node as a cluster sees it: the Node object (registered as kubelet does), its kubelet
// (lab/pods/, running the Pods bound to it), the syncer and the node-rules agent (the rules
// container: kube-nftlb's own nftables table) with the DaemonSet's arguments, in the node's
// namespace against that node's nftlb.
import { writeFileSync } from "node:fs";
import path from "node:path";
import { startPodController, type PodController } from "../pods/controller.ts";
import type { Store } from "../apiserver/store.ts";
import { MERGE_PATCH, type ApiClient } from "./api-client.ts";
import { conntrackAgentArgs, rulesArgs, syncerArgs, SYNCER_METRICS_PORT } from "./deploy-args.ts";
import { startProduct, waitReady, type ProductProcess } from "./processes.ts";
import { storeSource } from "./sources.ts";

export interface LabNodeSpec {
  name: string;
  ns: string;
  /** InternalIP */
  ip: string;
  /** where the node's probes listen, reachable from the host */
  apiIp: string;
  nftlb: { url: string; key: string };
  pods: { bridge: string; ipPrefix: string; gateway: string; cidr: string; nsPrefix: string };
  /** file names in the lab directory: "" for node 1 (nftlb.key, syncer.log), "-2" for node 2 */
  suffix: string;
}

export interface StartedNode {
  pods: PodController;
  syncer: ProductProcess;
  rules: ProductProcess;
  /** the conntrack agent (the DaemonSet's conntrack container) */
  agent?: ProductProcess;
  probes: string;
  keyFile: string;
  /** resolves once the syncer is ready, with the error otherwise (never rejects) */
  syncerReady: Promise<unknown>;
}

export async function startLabNode(
  n: LabNodeSpec,
  c: {
    dir: string;
    api: ApiClient;
    store: Store;
    kubeconfig: string;
    readyDelayMs: number;
    terminationDelayMs: number;
    log: (l: string) => void;
    /** nftlb's memory limit as the DaemonSet's nftlb container states it (e.g. "2Gi") */
    nftlbMemoryLimit?: string;
    /** added to the syncer's environment */
    syncerEnv?: Record<string, string>;
  },
): Promise<StartedNode> {
  const must = async (method: string, p: string, body: unknown, type?: string) => {
    const r = await c.api.request(method, p, body, type);
    if (!r.ok) throw new Error(r.error);
  };
  await must("POST", "/api/v1/nodes", {
    apiVersion: "v1",
    kind: "Node",
    metadata: { name: n.name, labels: { "kubernetes.io/hostname": n.name, "kubernetes.io/os": "linux" } },
    spec: { podCIDR: n.pods.cidr, podCIDRs: [n.pods.cidr] },
  });
  await must(
    "PATCH",
    `/api/v1/nodes/${n.name}/status`,
    {
      status: {
        addresses: [
          { type: "InternalIP", address: n.ip },
          { type: "Hostname", address: n.name },
        ],
        conditions: [{ type: "Ready", status: "True", reason: "KubeletReady", message: "lab node" }],
      },
    },
    MERGE_PATCH,
  );
  const pods = startPodController({
    pods: storeSource(c.store, "", "pods"),
    services: storeSource(c.store, "", "services"),
    api: c.api,
    nodeName: n.name,
    hostIP: n.ip,
    network: {
      nodeNs: n.ns,
      bridge: n.pods.bridge,
      nsPrefix: n.pods.nsPrefix,
      ipPrefix: n.pods.ipPrefix,
      firstHost: 10,
      lastHost: 250,
      prefixLength: 24,
      gateway: n.pods.gateway,
    },
    readyDelayMs: c.readyDelayMs,
    terminationDelayMs: c.terminationDelayMs,
    log: c.log,
  });
  const keyFile = path.join(c.dir, `nftlb${n.suffix}.key`);
  writeFileSync(keyFile, n.nftlb.key, { mode: 0o600 });
  const nodeRulesSocket = path.join(c.dir, `node-rules${n.suffix}.sock`);
  const rules = startProduct(
    `node-rules${n.suffix}`,
    n.ns,
    rulesArgs({ socket: nodeRulesSocket }),
    path.join(c.dir, "logs", `node-rules${n.suffix}.log`),
  );
  // The DaemonSet's conntrack container, in the node's namespace beside the syncer.
  const conntrackSocket = path.join(c.dir, `conntrack${n.suffix}.sock`);
  const agentArgs = conntrackAgentArgs(conntrackSocket);
  const agent =
    agentArgs === undefined
      ? undefined
      : startProduct(
          `conntrack${n.suffix}`,
          n.ns,
          agentArgs,
          path.join(c.dir, "logs", `conntrack${n.suffix}.log`),
        );
  const args = syncerArgs({
    nodeName: n.name,
    nftlbUrl: n.nftlb.url,
    keyFile,
    kubeconfig: c.kubeconfig,
    nodeRulesSocket,
    conntrackSocket,
    ...(c.nftlbMemoryLimit !== undefined ? { nftlbMemoryLimit: c.nftlbMemoryLimit } : {}),
  });
  const syncer = startProduct(
    `syncer${n.suffix}`,
    n.ns,
    args,
    path.join(c.dir, "logs", `syncer${n.suffix}.log`),
    c.syncerEnv,
  );
  const probes = `http://${n.apiIp}:${SYNCER_METRICS_PORT}`;
  const syncerReady = waitReady(`${probes}/readyz`, syncer, 60_000).then(
    () => undefined,
    (e: unknown) => e,
  );
  return { pods, syncer, rules, probes, keyFile, syncerReady, ...(agent ? { agent } : {}) };
}
