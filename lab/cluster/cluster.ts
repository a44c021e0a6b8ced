// The whole system on one machine: the API stand-in, the node namespace with the real nftlb, a
// client namespace, the pod, EndpointSlice and Deployment/ReplicaSet controllers, and the product
// wired as deploy/ wires it (certs ensure → webhook with those certificates → webhook
// configurations; the syncer with the DaemonSet's arguments). startCluster returns once all of
// it is ready.
import { mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { startApiServer, type ApiServer } from "../apiserver/index.ts";
import { createTestNetwork, type TestNetwork } from "../net/index.ts";
import { PREFIX } from "../net/slots.ts";
import { ipBatch } from "../net/sys.ts";
import {
  startEndpointSliceController,
  type EndpointSliceController,
} from "../controllers/endpointslice-controller.ts";
import { startDeploymentController } from "../controllers/deployment-controller.ts";
import type { PodController } from "../pods/controller.ts";
import { startLabNode, type LabNodeSpec, type StartedNode } from "./lab-node.ts";
import { apiClient, type ApiClient } from "./api-client.ts";
import { webhookArgs, portOf } from "./deploy-args.ts";
import { exited, startProduct, waitReady, type ProductProcess } from "./processes.ts";
import { startScheduler } from "./scheduler.ts";
import { addSecondNode } from "../net/second-node.ts";
import { startNodeDialer } from "../net/tunnel.ts";
import {
  clusterIpResolver,
  createWebhookService,
  publishWebhookEndpoint,
  waitWebhookReachable,
} from "./webhook-service.ts";
import { applyIdentities, serviceAccountKubeconfig, serviceAccountOf } from "./deploy-identities.ts";
import { storeSource } from "./sources.ts";
import { startClientAgent, type ClientAgent } from "../net/client.ts";
import { WEBHOOK_NAMESPACE, WEBHOOK_SECRET, WEBHOOK_SERVICE, webhookConfigs } from "./webhook-configs.ts";
import type { LabInfo } from "./info.ts";

export interface ClusterOptions {
  dir: string;
  nodeName?: string;
  /** 1 (default) or 2: a second node with its own nftlb and syncer, Pods spread over both */
  nodes?: number;
  /** default delay from a Pod's start to Ready (default 0) */
  podReadyDelayMs?: number;
  /** how long a deleted Pod stays terminating before its sandbox goes (default 1000) */
  terminationDelayMs?: number;
  /** extra source addresses in the client namespace (default 4) */
  clientAddresses?: number;
  log?: (line: string) => void;
  /** the nftlb container's limits.memory the syncers are told (default: deploy/'s) */
  nftlbMemoryLimit?: string;
  /** added to every syncer's environment (bench/lab-scale.ts: its trace file) */
  syncerEnv?: Record<string, string>;
  /** one line per API request the stand-in answered: method, path, status, milliseconds */
  apiLog?: (line: string) => void;
  /** watch events the stand-in keeps for resuming watches (default 1000) */
  apiHistorySize?: number;
  /** deploy/ objects not to create (a test of a component without its binding) */
  skipIdentity?: (d: { kind?: string; metadata?: { name?: string } }) => boolean;
}

export interface Cluster {
  info: LabInfo;
  api: ApiServer;
  client: ApiClient;
  net: TestNetwork;
  traffic: ClientAgent;
  pods: PodController;
  processes: ProductProcess[];
  /** every node: the first is `info.node` (the webhook and the API stand-in's dialler run there) */
  nodes: LabNode[];
  /** Stops everything in reverse order of start and removes the namespaces (idempotent). */
  stop(): Promise<void>;
}

export interface LabNode {
  name: string;
  ns: string;
  ip: string;
  nftlb: { url: string; key: string };
}

/** The egress port of the node's CONNECT proxy (konnectivity's). */
const DIALER_PORT = 8132;

export async function startCluster(o: ClusterOptions): Promise<Cluster> {
  const log = o.log ?? (() => undefined);
  const dir = path.resolve(o.dir);
  const nodeName = o.nodeName ?? "lab-node";
  mkdirSync(path.join(dir, "logs"), { recursive: true });
  mkdirSync(path.join(dir, "tls"), { recursive: true, mode: 0o700 });
  const stops: (() => Promise<void> | void)[] = [];
  const stop = async () => {
    for (const s of stops.splice(0).reverse()) {
      try {
        await s();
      } catch (err) {
        log(`stop: ${(err as Error).message}`);
      }
    }
  };
  try {
    const net = await createTestNetwork({ backends: 0, link: "bridge" });
    stops.push(() => net.destroy());
    const slot = net.slot;
    const hostSide = `10.201.${slot}.1`;
    const nodeApiIp = `10.201.${slot}.2`;
    const clientIps = Array.from({ length: o.clientAddresses ?? 4 }, (_, i) => `10.202.${slot}.${3 + i}`);
    await ipBatch(
      clientIps.map((ip) => `addr add ${ip}/24 dev eth0`),
      net.client.ns,
    );
    log(`network: node ${net.nftlb.ns}, client ${net.client.ns}, nftlb ${net.nftlb.url}`);
    // A node's uplink: its default route, toward the client namespace (which does not forward).
    await ipBatch([`route add default via ${net.client.ip}`], net.node.ns);
    const second = (o.nodes ?? 1) >= 2 ? await addSecondNode(net) : undefined;
    if (second) stops.push(() => second.nftlb.stop());
    const nodes: LabNode[] = [
      { name: nodeName, ns: net.node.ns, ip: net.node.clientSideIp, nftlb: net.nftlb },
      ...(second ? [{ name: `${nodeName}-2`, ns: second.ns, ip: second.ip, nftlb: second.nftlb }] : []),
    ];
    // kube-apiserver dials from a node: the stand-in's webhook calls start in node 1.
    const dialer = await startNodeDialer(net.node.ns, nodeApiIp, DIALER_PORT);
    stops.push(() => dialer.stop());

    const wh = webhookArgs({ tlsDir: path.join(dir, "tls") });
    const webhookPort = portOf(wh, "--port", 9443);
    const webhookProbe = portOf(wh, "--probe-port", 8080);
    const api: ApiServer = await startApiServer({
      host: hostSide,
      dir,
      running: ["Deployment", "ReplicaSet"],
      ...(o.apiLog ? { log: o.apiLog } : {}),
      ...(o.apiHistorySize !== undefined ? { historySize: o.apiHistorySize } : {}),
      // Called only for admission, once `api` is set.
      resolveService: clusterIpResolver(() => api.store, dialer),
    });
    stops.push(() => api.stop());
    const client = apiClient({ url: api.url, token: api.token, ca: api.ca.cert });
    const must = async (method: string, p: string, body?: unknown, type?: string) => {
      const r = await client.request(method, p, body, type);
      if (!r.ok) throw new Error(r.error);
      return r.body;
    };
    log(`api: ${api.url}`);
    // deploy/'s namespace, ServiceAccounts and RBAC, then a token for each component that calls
    // the API: the syncer (the DaemonSet's account) and `certs ensure` (the Job's).
    await applyIdentities(client, o.skipIdentity);
    const asAccount = (file: string, out: string) =>
      serviceAccountKubeconfig(client, serviceAccountOf(file), {
        server: api.url,
        caPem: api.ca.cert,
        file: path.join(dir, out),
      });
    const syncerKubeconfig = await asAccount("node/daemonset.yaml", "syncer.kubeconfig");
    const certsKubeconfig = await asAccount("certs/job.yaml", "certs.kubeconfig");

    const nodeIp = net.node.clientSideIp;
    const specs: LabNodeSpec[] = [
      {
        name: nodeName,
        ns: net.node.ns,
        ip: nodeIp,
        apiIp: nodeApiIp,
        nftlb: net.nftlb,
        suffix: "",
        pods: {
          bridge: "br0",
          ipPrefix: `10.203.${slot}.`,
          gateway: `10.203.${slot}.1`,
          cidr: `10.203.${slot}.0/24`,
          nsPrefix: `${PREFIX}${slot}-p`,
        },
      },
      ...(second
        ? [
            {
              name: nodes[1]!.name,
              ns: second.ns,
              ip: second.ip,
              apiIp: second.apiIp,
              nftlb: second.nftlb,
              suffix: "-2",
              pods: { ...second.pods, nsPrefix: `${PREFIX}${slot}-n2p` },
            },
          ]
        : []),
    ];
    const started: StartedNode[] = [];
    for (const spec of specs) {
      // Started first, checked last: the syncers need neither the webhook nor its certificates.
      const node = await startLabNode(spec, {
        dir,
        api: client,
        store: api.store,
        kubeconfig: syncerKubeconfig,
        readyDelayMs: o.podReadyDelayMs ?? 0,
        terminationDelayMs: o.terminationDelayMs ?? 1000,
        log,
        ...(o.nftlbMemoryLimit !== undefined ? { nftlbMemoryLimit: o.nftlbMemoryLimit } : {}),
        ...(o.syncerEnv ? { syncerEnv: o.syncerEnv } : {}),
      });
      started.push(node);
      stops.push(() => node.pods.stop());
      stops.push(() => node.syncer.stop());
      stops.push(() => node.rules.stop());
      if (node.agent) stops.push(() => node.agent?.stop());
    }
    const scheduler = startScheduler({
      pods: storeSource(api.store, "", "pods"),
      api: client,
      nodes: specs.map((n) => n.name),
      log,
    });
    stops.push(() => scheduler.stop());
    const pods = mergedPods(started.map((n) => n.pods));
    const slices: EndpointSliceController = startEndpointSliceController({
      services: storeSource(api.store, "", "services"),
      pods: storeSource(api.store, "", "pods"),
      slices: storeSource(api.store, "discovery.k8s.io", "endpointslices"),
      nodes: storeSource(api.store, "", "nodes"),
      api: client,
      log: (l) => log(l),
    });
    stops.push(() => slices.stop());
    const deployments = startDeploymentController({
      deployments: storeSource(api.store, "apps", "deployments"),
      replicaSets: storeSource(api.store, "apps", "replicasets"),
      pods: storeSource(api.store, "", "pods"),
      api: client,
      log: (l) => log(l),
    });
    stops.push(() => deployments.stop());

    const processes: ProductProcess[] = started.map((n) => n.syncer);
    const syncer = started[0]!.syncer;

    // The webhook (its namespace is deploy/'s, created above): configurations, certificates
    // from `certs ensure`, then the server.
    // Its Service first, so the syncers program its ClusterIP while the rest starts.
    const webhookIp = await createWebhookService(client);
    const { configs, source } = webhookConfigs();
    for (const c of configs) {
      const plural = c.kind === "MutatingWebhookConfiguration" ? "mutating" : "validating";
      await must("POST", `/apis/admissionregistration.k8s.io/v1/${plural}webhookconfigurations`, c);
    }
    log(`webhook configurations from ${source}`);
    const certs = startProduct(
      "certs",
      undefined,
      [
        "certs",
        "ensure",
        `--namespace=${WEBHOOK_NAMESPACE}`,
        `--service=${WEBHOOK_SERVICE}`,
        `--secret=${WEBHOOK_SECRET}`,
        `--webhook=${[...new Set(configs.map((c) => c.metadata.name))].join(",")}`,
        `--kubeconfig=${certsKubeconfig}`,
      ],
      path.join(dir, "logs", "certs.log"),
    );
    const code = await exited(certs);
    if (code !== 0) throw new Error(`kube-nftlb certs ensure failed (${code}):\n${certs.tail()}`);
    const secret = (await must(
      "GET",
      `/api/v1/namespaces/${WEBHOOK_NAMESPACE}/secrets/${WEBHOOK_SECRET}`,
    )) as {
      data?: Record<string, string>;
    };
    for (const f of ["tls.crt", "tls.key"]) {
      const v = secret.data?.[f];
      if (v === undefined) throw new Error(`Secret ${WEBHOOK_SECRET} has no ${f}`);
      writeFileSync(path.join(dir, "tls", f), Buffer.from(v, "base64"), { mode: 0o600 });
    }
    const webhook = startProduct("webhook", net.node.ns, wh, path.join(dir, "logs", "webhook.log"));
    processes.push(webhook);
    stops.push(() => webhook.stop());
    await waitReady(`http://${nodeApiIp}:${webhookProbe}/readyz`, webhook, 30_000);
    await publishWebhookEndpoint(client, { name: nodeName, ip: nodeIp }, webhookPort);
    log(`webhook ready on ${nodeIp}:${webhookPort}, Service ClusterIP ${webhookIp}:443`);

    for (const n of started) {
      const failed = await n.syncerReady;
      if (failed !== undefined) throw failed instanceof Error ? failed : new Error(JSON.stringify(failed));
    }
    log(`syncer ready on ${started.length} node(s)`);
    // kube-apiserver's path to the webhook: its ClusterIP, from the node (needs intra-connect).
    await waitWebhookReachable(dialer, webhookIp, 30_000);
    log("webhook reachable through its ClusterIP from the node");

    const traffic = await startClientAgent(net.client.ns, "traffic agent");
    stops.push(() => traffic.close());

    const info: LabInfo = {
      version: 1,
      dir,
      slot,
      kubeconfig: api.kubeconfigPath,
      apiServer: api.url,
      nftlb: { url: net.nftlb.url, key: net.nftlb.key, keyFile: started[0]!.keyFile, netns: net.nftlb.ns },
      client: { netns: net.client.ns, addresses: [net.client.ip, ...clientIps] },
      node: {
        name: nodeName,
        netns: net.node.ns,
        addresses: { InternalIP: nodeIp },
        podCIDR: `10.203.${slot}.0/24`,
      },
      nodes: specs.map((n, i) => ({
        name: n.name,
        netns: n.ns,
        addresses: { InternalIP: n.ip },
        podCIDR: n.pods.cidr,
        nftlb: { url: n.nftlb.url, keyFile: started[i]!.keyFile },
        syncer: { probes: started[i]!.probes, log: started[i]!.syncer.logFile, pid: started[i]!.syncer.pid },
      })),
      webhook: {
        url: `https://${nodeApiIp}:${webhookPort}`,
        clusterIP: webhookIp,
        log: webhook.logFile,
      },
      syncer: { probes: started[0]!.probes, log: syncer.logFile },
      pids: {
        supervisor: process.pid,
        webhook: webhook.pid,
        syncer: syncer.pid,
        ...Object.fromEntries(started.slice(1).map((n, i) => [`syncer${i + 2}`, n.syncer.pid])),
        ...Object.fromEntries(
          started.flatMap((n, i) => (n.agent ? [[`conntrack${i === 0 ? "" : i + 1}`, n.agent.pid]] : [])),
        ),
      },
      namespacePrefix: `${PREFIX}${slot}-`,
    };
    return { info, api, client, net, traffic, pods, processes, nodes, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

/** The kubelets of every node as one: sandboxes of all, idle when all are. */
function mergedPods(all: PodController[]): PodController {
  return {
    sandboxes: () => new Map(all.flatMap((p) => [...p.sandboxes()])),
    idle: async () => {
      await Promise.all(all.map((p) => p.idle()));
    },
    stop: async () => {
      await Promise.all(all.map((p) => p.stop()));
    },
  };
}
