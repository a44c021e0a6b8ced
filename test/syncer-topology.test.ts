// Topology end to end with real packets: the syncer follows EndpointSlice hints exactly when
// kube-proxy would (pkg/proxy/topology.go). Node node-1 sits in zone-a; three backends, b0 in
// zone-a, b1 and b2 in zone-b. Traffic to the ClusterIP stays in zone-a while every endpoint is
// hinted and one is hinted for zone-a, and spreads over all three when one hint is missing or
// the node's zone has none. forNodes hints win over zones when every endpoint has one.
import { after, before, test } from "node:test";
import { cannotBuildNetwork } from "../lab/net/index.ts";
import { startSyncer, type Syncer } from "../syncer/run.ts";
import { answering, sameSet, startWorld, syncerConfig, type SyncerWorld } from "./syncer-fixture.ts";
import { until } from "./until.ts";

const skip = cannotBuildNetwork();
const NS = "default";
let world: SyncerWorld;
let syncer: Syncer | undefined;
let vip = "";
let names: [string, string, string];

type Hints = { zones?: string[]; nodes?: string[] } | undefined;
const slice = (hints: [Hints, Hints, Hints]) => ({
  apiVersion: "discovery.k8s.io/v1",
  kind: "EndpointSlice",
  metadata: { name: "web-1", namespace: NS, labels: { "kubernetes.io/service-name": "web" } },
  addressType: "IPv4",
  endpoints: world.net.backends.map((b, i) => ({
    addresses: [b.ip],
    conditions: { ready: true },
    zone: i === 0 ? "zone-a" : "zone-b",
    ...(hints[i] === undefined
      ? {}
      : {
          hints: {
            ...(hints[i].zones ? { forZones: hints[i].zones.map((name) => ({ name })) } : {}),
            ...(hints[i].nodes ? { forNodes: hints[i].nodes.map((name) => ({ name })) } : {}),
          },
        }),
  })),
  ports: [{ name: "http", port: 8080, protocol: "TCP" }],
});
const setSlice = (hints: [Hints, Hints, Hints]) =>
  world.discovery.replaceNamespacedEndpointSlice({ name: "web-1", namespace: NS, body: slice(hints) });
const setZone = (zone: string) =>
  world.core.patchNode({
    name: "node-1",
    body: [{ op: "add", path: "/metadata/labels", value: { "topology.kubernetes.io/zone": zone } }],
  });
const answers = (want: string[]) => async () => sameSet(await answering(world.net, vip, 80, 24), want);
const zoned = (zone: string): Hints => ({ zones: [zone] });

before(async () => {
  if (skip) return;
  world = await startWorld({ backends: 3, port: 8080 });
  names = world.net.backends.map((b) => b.name) as [string, string, string];
  vip = world.net.vip(30);
  await setZone("zone-a");
  syncer = await startSyncer(syncerConfig(world.net, world.api), { log: world.log });
  await syncer.started;
  await world.core.createNamespacedService({
    namespace: NS,
    body: {
      apiVersion: "v1",
      kind: "Service",
      metadata: { name: "web", namespace: NS },
      spec: {
        clusterIP: vip,
        trafficDistribution: "PreferClose",
        ports: [{ name: "http", port: 80, protocol: "TCP", targetPort: 8080 }],
      },
    },
  });
  await world.discovery.createNamespacedEndpointSlice({
    namespace: NS,
    body: slice([zoned("zone-a"), zoned("zone-b"), zoned("zone-b")]),
  });
});

after(async () => {
  if (skip) return;
  await syncer?.stop();
  await world.destroy();
});

test("every endpoint hinted, one for the node's zone: traffic stays in zone-a", { skip }, async () => {
  await until("only b0 (zone-a) answers", answers([names[0]]));
});

test("one endpoint without a hint: traffic spreads over every zone", { skip }, async () => {
  await setSlice([zoned("zone-a"), zoned("zone-b"), undefined]);
  await until("all three answer", answers(names));
  await setSlice([zoned("zone-a"), zoned("zone-b"), zoned("zone-b")]);
  await until("back to zone-a only", answers([names[0]]));
});

test("the node's zone has no endpoint hinted for it: traffic spreads", { skip }, async () => {
  await setZone("zone-c");
  await until("all three answer", answers(names));
  await setZone("zone-b");
  await until("zone-b's two answer", answers([names[1], names[2]]));
  await setZone("zone-a");
  await until("back to zone-a only", answers([names[0]]));
});

test("forNodes on every endpoint, one for this node: that one, over the zone hints", { skip }, async () => {
  await setSlice([
    { zones: ["zone-a"], nodes: ["node-2"] },
    { zones: ["zone-b"], nodes: ["node-1"] },
    { zones: ["zone-b"], nodes: ["node-3"] },
  ]);
  await until("only b1 (hinted for node-1) answers", answers([names[1]]));
});
