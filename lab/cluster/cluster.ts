// The whole system on one machine: the API stand-in, the node namespace with the real nftlb, a
// client namespace, the pod and EndpointSlice controllers, and the product wired as deploy/
// wires it (certs ensure → webhook with those certificates → webhook configurations; the syncer
// with the DaemonSet's arguments). startCluster returns once all of it is ready.
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
import { startPodController, type PodController } from "../pods/controller.ts";
import { apiClient, type ApiClient } from "./api-client.ts";
import { syncerArgs, webhookArgs, portOf, SYNCER_METRICS_PORT } from "./deploy-args.ts";
import { exited, startProduct, waitReady, type ProductProcess } from "./processes.ts";
import { storeSource } from "./sources.ts";
import { startTraffic, type Traffic } from "./traffic.ts";
import { WEBHOOK_NAMESPACE, WEBHOOK_SECRET, WEBHOOK_SERVICE, webhookConfigs } from "./webhook-configs.ts";
import type { LabInfo } from "./info.ts";

export interface ClusterOptions {
  dir: string;
  nodeName?: string;
  /** default delay from a Pod's start to Ready (default 0) */
  podReadyDelayMs?: number;
  /** how long a deleted Pod stays terminating before its sandbox goes (default 1000) */
  terminationDelayMs?: number;
  /** extra source addresses in the client namespace (default 4) */
  clientAddresses?: number;
  log?: (line: string) => void;
}

export interface Cluster {
  info: LabInfo;
  api: ApiServer;
  client: ApiClient;
  net: TestNetwork;
  traffic: Traffic;
  pods: PodController;
  processes: ProductProcess[];
  /** Stops everything in reverse order of start and removes the namespaces (idempotent). */
  stop(): Promise<void>;
}

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

    const wh = webhookArgs({ tlsDir: path.join(dir, "tls") });
    const webhookPort = portOf(wh, "--port", 9443);
    const webhookProbe = portOf(wh, "--probe-port", 8080);
    const api = await startApiServer({
      host: hostSide,
      dir,
      resolveService: (s) =>
        s.namespace === WEBHOOK_NAMESPACE && s.name === WEBHOOK_SERVICE && s.port === 443
          ? `https://${nodeApiIp}:${webhookPort}`
          : undefined,
    });
    stops.push(() => api.stop());
    const client = apiClient({ url: api.url, token: api.token, ca: api.ca.cert });
    const must = async (method: string, p: string, body?: unknown, type?: string) => {
      const r = await client.request(method, p, body, type);
      if (!r.ok) throw new Error(r.error);
      return r.body;
    };
    log(`api: ${api.url}`);

    // The node, as kubelet registers it: InternalIP on the side clients reach.
    const nodeIp = net.node.clientSideIp;
    await must("POST", "/api/v1/nodes", {
      apiVersion: "v1",
      kind: "Node",
      metadata: {
        name: nodeName,
        labels: { "kubernetes.io/hostname": nodeName, "kubernetes.io/os": "linux" },
      },
      spec: { podCIDR: `10.203.${slot}.0/24`, podCIDRs: [`10.203.${slot}.0/24`] },
    });
    await must(
      "PATCH",
      `/api/v1/nodes/${nodeName}/status`,
      {
        status: {
          addresses: [
            { type: "InternalIP", address: nodeIp },
            { type: "Hostname", address: nodeName },
          ],
          conditions: [{ type: "Ready", status: "True", reason: "KubeletReady", message: "lab node" }],
        },
      },
      "application/merge-patch+json",
    );

    const pods = startPodController({
      pods: storeSource(api.store, "", "pods"),
      api: client,
      nodeName,
      hostIP: nodeIp,
      network: {
        nodeNs: net.node.ns,
        bridge: "br0",
        nsPrefix: `${PREFIX}${slot}-p`,
        ipPrefix: `10.203.${slot}.`,
        firstHost: 10,
        lastHost: 250,
        prefixLength: 24,
        gateway: `10.203.${slot}.1`,
      },
      readyDelayMs: o.podReadyDelayMs ?? 0,
      terminationDelayMs: o.terminationDelayMs ?? 1000,
      log: (l) => log(l),
    });
    stops.push(() => pods.stop());
    const slices: EndpointSliceController = startEndpointSliceController({
      services: storeSource(api.store, "", "services"),
      pods: storeSource(api.store, "", "pods"),
      slices: storeSource(api.store, "discovery.k8s.io", "endpointslices"),
      nodes: storeSource(api.store, "", "nodes"),
      api: client,
      log: (l) => log(l),
    });
    stops.push(() => slices.stop());

    const processes: ProductProcess[] = [];
    // The syncer, with the DaemonSet's arguments.
    const keyFile = path.join(dir, "nftlb.key");
    writeFileSync(keyFile, net.nftlb.key, { mode: 0o600 });
    const sy = syncerArgs({ nodeName, nftlbUrl: net.nftlb.url, keyFile, kubeconfig: api.kubeconfigPath });
    const syncer = startProduct("syncer", net.node.ns, sy, path.join(dir, "logs", "syncer.log"));
    stops.push(() => syncer.stop());
    // Started first, checked last: it needs neither the webhook nor its certificates.
    const syncerReady = waitReady(`http://${nodeApiIp}:${SYNCER_METRICS_PORT}/readyz`, syncer, 60_000).then(
      () => undefined,
      (e: unknown) => e,
    );

    processes.push(syncer);

    // The webhook: namespace, configurations, certificates from `certs ensure`, then the server.
    await must("POST", "/api/v1/namespaces", {
      apiVersion: "v1",
      kind: "Namespace",
      metadata: { name: WEBHOOK_NAMESPACE },
    });
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
        `--kubeconfig=${api.kubeconfigPath}`,
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
    log(`webhook ready on ${nodeApiIp}:${webhookPort}`);

    const failed = await syncerReady;
    if (failed !== undefined) throw failed instanceof Error ? failed : new Error(JSON.stringify(failed));
    log("syncer ready");

    const traffic = await startTraffic(net.client.ns);
    stops.push(() => traffic.close());

    const info: LabInfo = {
      version: 1,
      dir,
      slot,
      kubeconfig: api.kubeconfigPath,
      apiServer: api.url,
      nftlb: { url: net.nftlb.url, key: net.nftlb.key, keyFile, netns: net.nftlb.ns },
      client: { netns: net.client.ns, addresses: [net.client.ip, ...clientIps] },
      node: {
        name: nodeName,
        netns: net.node.ns,
        addresses: { InternalIP: nodeIp },
        podCIDR: `10.203.${slot}.0/24`,
      },
      webhook: { url: `https://${nodeApiIp}:${webhookPort}`, log: webhook.logFile },
      syncer: { probes: `http://${nodeApiIp}:${SYNCER_METRICS_PORT}`, log: syncer.logFile },
      pids: { supervisor: process.pid, webhook: webhook.pid, syncer: syncer.pid },
      namespacePrefix: `${PREFIX}${slot}-`,
    };
    return { info, api, client, net, traffic, pods, processes, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}
