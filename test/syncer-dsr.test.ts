// dsr through the real syncer: a Service annotated for dsr and its EndpointSlice in the API
// stand-in → startSyncer (with --iface/--oface as a node would run it) → the real nftlb → TCP from
// a client namespace, answered directly by backends holding the VIP on their loopback.
// Convergence times are printed, never asserted.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { CoreV1Api, DiscoveryV1Api, KubeConfig } from "@kubernetes/client-node";
import { startApiServer, type ApiServer } from "../lab/apiserver/index.ts";
import { cannotBuildNetwork, createTestNetwork, tally, type TestNetwork } from "../lab/net/index.ts";
import { createNftlbClient, type NftlbClient } from "../nftlb/index.ts";
import { createLogger } from "../runtime/index.ts";
import { startSyncer, type Syncer } from "../syncer/run.ts";

const skip = cannotBuildNetwork();
const NS = "default";
const PORT = 8080;
const FARM = `${NS}.web.http`;
const PREFIX = "service.kubernetes.io/kube-nftlb-load-balancer-";

let net: TestNetwork;
let api: ApiServer;
let core: CoreV1Api;
let discovery: DiscoveryV1Api;
let nftlb: NftlbClient;
let syncer: Syncer | undefined;
let vip = "";

async function until(what: string, cond: () => Promise<boolean>, timeoutMs = 30_000): Promise<number> {
  const start = performance.now();
  for (;;) {
    if (await cond()) return performance.now() - start;
    if (performance.now() - start > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms: ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

const slice = (backends: string[]) => ({
  apiVersion: "discovery.k8s.io/v1",
  kind: "EndpointSlice",
  metadata: { name: "web-1", namespace: NS, labels: { "kubernetes.io/service-name": "web" } },
  addressType: "IPv4",
  endpoints: backends.map((name) => ({
    addresses: [net.backends.find((b) => b.name === name)!.ip],
    conditions: { ready: true },
    targetRef: { kind: "Pod", name, namespace: NS },
  })),
  ports: [{ name: "http", port: PORT, protocol: "TCP" }],
});

/** Who answers over `n` fresh connections; failures count under "(failed)". */
const counts = async (n = 15) => tally(await net.client.many("tcp", vip, PORT, n, 500));
const exactly = (c: Record<string, number>, names: string[]) =>
  c["(failed)"] === undefined &&
  Object.keys(c).length === names.length &&
  names.every((n) => (c[n] ?? 0) > 0);

before(async () => {
  if (skip) return;
  net = await createTestNetwork({ backends: 2, ports: [PORT] });
  vip = net.vip(40);
  api = await startApiServer({ serviceCidr: `${net.vip(0)}/24` });
  const kc = new KubeConfig();
  kc.loadFromFile(api.kubeconfigPath);
  core = kc.makeApiClient(CoreV1Api);
  discovery = kc.makeApiClient(DiscoveryV1Api);
  nftlb = createNftlbClient({ url: net.nftlb.url, key: net.nftlb.key, timeoutMs: 10_000 });
  await core.createNode({
    body: { apiVersion: "v1", kind: "Node", metadata: { name: "node-1" }, status: { addresses: [] } },
  });
  // dsr: the backends accept frames addressed to the VIP and answer the client directly.
  for (const b of net.backends) await b.holdVip(vip);
  // The test process runs on the host, not in the node namespace: /sys/class/net there is not
  // the node's, so the MAC is read inside the namespace and given as parseSyncerArgs would.
  const iface = net.node.clientIface;
  syncer = await startSyncer(
    {
      nftlbUrl: net.nftlb.url,
      nftlbKey: net.nftlb.key,
      nodeName: "node-1",
      kubeconfig: api.kubeconfigPath,
      probePort: 0,
      endpointsApi: "slices",
      proxyMode: "replace",
      resyncMs: 60_000,
      nftlbProbeMs: 1000,
      nftlbTimeoutMs: 10_000,
      iface,
      ifaceMac: await net.node.mac(iface),
      oface: net.node.backendIface(net.backends[0]!.name),
      logLevel: "warn",
    },
    { log: createLogger({ name: "syncer", level: "warn", secrets: () => [net.nftlb.key] }) },
  );
  await syncer.started;
});

after(async () => {
  if (skip) return;
  await syncer?.stop();
  await api?.stop();
  await net?.destroy();
});

test("a dsr Service through the syncer: both backends answer TCP, then only the one left in the slice", async (t) => {
  if (skip) return t.skip(skip);
  const [b0, b1] = net.backends.map((b) => b.name) as [string, string];
  await core.createNamespacedService({
    namespace: NS,
    body: {
      apiVersion: "v1",
      kind: "Service",
      metadata: {
        name: "web",
        namespace: NS,
        annotations: { [PREFIX + "mode"]: "dsr", [PREFIX + "scheduler"]: "hash-srcip-srcport" },
      },
      spec: {
        clusterIP: vip,
        clusterIPs: [vip],
        ports: [{ name: "http", port: PORT, protocol: "TCP", targetPort: PORT }],
      },
    },
  });
  await discovery.createNamespacedEndpointSlice({ namespace: NS, body: slice([b0, b1]) });

  const written = await until("the syncer writes a dsr farm", async () => {
    const r = await nftlb.getFarm(FARM);
    return r.ok && r.value?.mode === "dsr";
  });
  // nftlb fills in the backends' MACs from neighbour events: make the node learn them.
  await net.learnNeighbours();
  const served = await until("both backends answer, no failed connection", async () =>
    exactly(await counts(), [b0, b1]),
  );
  console.log(
    `# dsr farm written in ${Math.round(written)} ms; traffic served ${Math.round(served)} ms later`,
  );
  const both = await counts();
  assert.ok(exactly(both, [b0, b1]), `both backends and no failure: ${JSON.stringify(both)}`);

  await discovery.replaceNamespacedEndpointSlice({ name: "web-1", namespace: NS, body: slice([b0]) });
  const scaled = await until("only b0 answers", async () => exactly(await counts(), [b0]));
  console.log(`# scale to 1 backend: converged in ${Math.round(scaled)} ms`);
  const one = await counts();
  assert.deepEqual(one, { [b0]: 15 }, "only the backend left in the slice answers, none fails");
});
