// dsr through the real syncer: a Service annotated for dsr and its EndpointSlice in the API
// stand-in → startSyncer (with --iface/--oface as a node would run it) → the real nftlb → TCP from
// a client namespace, answered directly by backends holding the VIP on their loopback.
// Convergence times are printed, never asserted.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import type { CoreV1Api, DiscoveryV1Api } from "@kubernetes/client-node";
import type { ApiServer } from "../lab/apiserver/index.ts";
import { cannotBuildNetwork, tally, type TestNetwork } from "../lab/net/index.ts";
import type { NftlbClient } from "../nftlb/index.ts";
import { startSyncer, type Syncer } from "../syncer/run.ts";
import { startWorld, syncerConfig, type SyncerWorld } from "./syncer-fixture.ts";
import { untilTimed } from "./until.ts";

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
const counts = async (n = 15) => tally(await net.client.many("tcp", vip, PORT, n, { timeoutMs: 500 }));
const exactly = (c: Record<string, number>, names: string[]) =>
  c["(failed)"] === undefined &&
  Object.keys(c).length === names.length &&
  names.every((n) => (c[n] ?? 0) > 0);

let world: SyncerWorld | undefined;

before(async () => {
  if (skip) return;
  world = await startWorld({ backends: 2, port: PORT });
  ({ net, api, core, discovery, nftlb } = world);
  vip = net.vip(40);
  // dsr: the backends accept frames addressed to the VIP and answer the client directly.
  for (const b of net.backends) await b.holdVip(vip);
  // The test process runs on the host, not in the node namespace: /sys/class/net there is not
  // the node's, so the MAC is read inside the namespace and given as parseSyncerArgs would.
  const iface = net.node.clientIface;
  syncer = await startSyncer(
    syncerConfig(net, api, {
      nftlbProbeMs: 1000,
      iface,
      ifaceMac: await net.node.mac(iface),
      oface: net.node.backendIface(net.backends[0]!.name),
    }),
    { log: world.log },
  );
  await syncer.started;
});

after(async () => {
  if (skip) return;
  await syncer?.stop();
  await world?.destroy();
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

  const written = await untilTimed("the syncer writes a dsr farm", async () => {
    const r = await nftlb.getFarm(FARM);
    return r.ok && r.value?.mode === "dsr";
  });
  // nftlb fills in the backends' MACs from neighbour events: make the node learn them.
  await net.learnNeighbours();
  const served = await untilTimed("both backends answer, no failed connection", async () =>
    exactly(await counts(), [b0, b1]),
  );
  console.log(
    `# dsr farm written in ${Math.round(written)} ms; traffic served ${Math.round(served)} ms later`,
  );
  const both = await counts();
  assert.ok(exactly(both, [b0, b1]), `both backends and no failure: ${JSON.stringify(both)}`);

  await discovery.replaceNamespacedEndpointSlice({ name: "web-1", namespace: NS, body: slice([b0]) });
  const scaled = await untilTimed("only b0 answers", async () => exactly(await counts(), [b0]));
  console.log(`# scale to 1 backend: converged in ${Math.round(scaled)} ms`);
  const one = await counts();
  assert.deepEqual(one, { [b0]: 15 }, "only the backend left in the slice answers, none fails");
});
