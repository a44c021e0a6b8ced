// What the syncer's end-to-end tests share: the syncer's configuration against a test network and
// the API stand-in, and who answers at a VIP. (Waiting for a condition: until.ts.)
// Test helper, not a test.
import { CoreV1Api, DiscoveryV1Api, KubeConfig } from "@kubernetes/client-node";
import { pino, type Logger } from "pino";
import process from "node:process";
import path from "node:path";
import { startApiServer, type ApiServer } from "../lab/apiserver/index.ts";
import { deploySyncerKubeconfig } from "../lab/cluster/deploy-identities.ts";
import { createTestNetwork, type Probe, type TestNetwork } from "../lab/net/index.ts";
import { nftlbPid as nftlbPidIn } from "../lab/net/processes.ts";
import { createNftlbClient, type NftlbClient } from "../nftlb/index.ts";
import { createLogger } from "../runtime/index.ts";
import type { SyncerConfig } from "../syncer/config.ts";
import { startSyncer, type Syncer } from "../syncer/run.ts";

/**
 * The syncer's kubeconfig in a world: deploy/'s ServiceAccount, with deploy/'s RBAC applied
 * (startWorld, or giveSyncerIdentity for a stand-in of one's own), so every syncer end-to-end
 * test and bench also shows that RBAC is enough.
 */
const syncerKubeconfigs = new WeakMap<ApiServer, string>();

/** deploy/'s identities on `api`, for syncerConfig: the syncer then runs as deploy/'s ServiceAccount. */
export async function giveSyncerIdentity(api: ApiServer): Promise<void> {
  syncerKubeconfigs.set(api, await deploySyncerKubeconfig(api));
}

export function syncerConfig(
  net: TestNetwork,
  api: ApiServer,
  over: Partial<SyncerConfig> = {},
): SyncerConfig {
  const kubeconfig = syncerKubeconfigs.get(api);
  // never the admin's: under system:masters a rule deploy/ lacks would go unseen
  if (kubeconfig === undefined)
    throw new Error(
      "syncerConfig: this stand-in has no syncer identity (startWorld or giveSyncerIdentity first)",
    );
  return {
    nftlbUrl: net.nftlb.url,
    nftlbKey: net.nftlb.key,
    nodeName: "node-1",
    kubeconfig,
    probePort: 0,
    endpointsApi: "slices",
    proxyMode: "replace",
    resyncMs: 60_000,
    nftlbProbeMs: 250,
    nftlbTimeoutMs: 10_000,
    logLevel: "warn",
    // kube-nftlb's own table goes where nftlb runs: the node's namespace, not the test's.
    nftCommand: ["ip", "netns", "exec", net.nftlb.ns, "nft"],
    ...over,
  };
}

/** The syncer against `world`, once its start (the first full reconcile) is done. */
export async function runSyncer(world: SyncerWorld): Promise<Syncer> {
  const syncer = await startSyncer(syncerConfig(world.net, world.api), { log: world.log });
  await syncer.started;
  return syncer;
}

/** A Service at `vip` with one TCP port, `http`, 80 → 8080. */
export const httpService = (
  namespace: string,
  name: string,
  vip: string,
  annotations: Record<string, string> = {},
) => ({
  apiVersion: "v1",
  kind: "Service",
  metadata: { name, namespace, annotations },
  spec: { clusterIP: vip, ports: [{ name: "http", port: 80, protocol: "TCP", targetPort: 8080 }] },
});

/** The backends answering at `vip`:`port` over `n` fresh TCP connections ("(none)" for a failure). */
export async function answering(net: TestNetwork, vip: string, port: number, n = 12): Promise<Set<string>> {
  const probes = await net.client.many("tcp", vip, port, n, { timeoutMs: 500 });
  return new Set(probes.map((p) => (p.ok ? p.answer.trim() : "(none)")));
}

/**
 * A failed probe with what finds it in a capture of the node (lab/net/capture.ts): its source
 * port and when it started, in UTC, and how long it took to fail.
 */
export const describeFailure = (p: Extract<Probe, { ok: false }>): string =>
  p.port === undefined || p.startedAt === undefined || p.failedAt === undefined
    ? p.error
    : `${p.error} (source port ${p.port}, at ${new Date(p.startedAt).toISOString()}, failed after ${(p.failedAt - p.startedAt).toFixed(1)} ms)`;

/**
 * A looping client: fresh TCP connections to `vip`:`port`, one after the other, while `during`
 * runs; returns the failed ones (each a moment without a backend).
 */
/** Long enough for one retransmitted SYN (sent 1 s after the first) and its answer, not two (3 s). */
export const RETRANSMITTED_SYN_MS = 2500;

export async function failuresWhile(
  net: TestNetwork,
  vip: string,
  port: number,
  during: () => Promise<void>,
): Promise<string[]> {
  let stop = false;
  const failures: string[] = [];
  const loop = (async () => {
    while (!stop) {
      // A client's connect outlives one retransmitted SYN (Linux: 1 s): a connection a node
      // delays by a dropped SYN (node-rules.ts, straddlers) reaches a backend; one that needs a
      // second retransmission, or is refused or unreachable, is a failure.
      const p = await net.client.tcp(vip, port, { timeoutMs: RETRANSMITTED_SYN_MS });
      if (!p.ok) failures.push(describeFailure(p));
    }
  })();
  try {
    await during();
  } finally {
    stop = true;
    await loop;
  }
  return failures;
}

export const sameSet = (a: Set<string>, b: readonly string[]): boolean =>
  a.size === b.length && b.every((x) => a.has(x));

/** A test network with the real nftlb, the API stand-in holding Node `node-1`, and clients of both. */
export interface SyncerWorld {
  net: TestNetwork;
  api: ApiServer;
  core: CoreV1Api;
  discovery: DiscoveryV1Api;
  nftlb: NftlbClient;
  /** The syncer's logger: JSON at warn, nftlb's key scrubbed. */
  log: Logger;
  destroy(): Promise<void>;
}

export async function startWorld(o: {
  backends: number;
  port: number;
  /** The Node's addresses, from the network (e.g. its client-side address as InternalIP). */
  nodeAddresses?: (net: TestNetwork) => { type: string; address: string }[];
}): Promise<SyncerWorld> {
  const net = await createTestNetwork({ backends: o.backends, ports: [o.port] });
  const api = await startApiServer({ serviceCidr: `${net.vip(0)}/24` });
  await giveSyncerIdentity(api);
  const kc = new KubeConfig();
  kc.loadFromFile(api.kubeconfigPath);
  const core = kc.makeApiClient(CoreV1Api);
  await core.createNode({
    body: {
      apiVersion: "v1",
      kind: "Node",
      metadata: { name: "node-1" },
      status: { addresses: o.nodeAddresses?.(net) ?? [] },
    },
  });
  return {
    net,
    api,
    core,
    discovery: kc.makeApiClient(DiscoveryV1Api),
    nftlb: createNftlbClient({ url: net.nftlb.url, key: net.nftlb.key, timeoutMs: 10_000 }),
    // With KNL_CAPTURE_DIR (lab/net/capture.ts), every nftlb request too, in the capture.
    log: createLogger({
      name: "syncer",
      secrets: () => [net.nftlb.key],
      ...(process.env.KNL_CAPTURE_DIR
        ? {
            level: "debug",
            destination: pino.destination({
              dest: path.join(process.env.KNL_CAPTURE_DIR, net.nftlb.ns, "syncer.log"),
              sync: true,
            }),
          }
        : { level: "warn" }),
    }),
    destroy: async () => {
      await api.stop();
      await net.destroy();
    },
  };
}

/** The nftlb daemon's pid, found in its network namespace (to SIGSTOP it: a hung nftlb). */
export const nftlbPid = (net: TestNetwork): number => {
  const pid = nftlbPidIn(net.nftlb.ns);
  if (pid === undefined) throw new Error(`no nftlb in ${net.nftlb.ns}`);
  return pid;
};
