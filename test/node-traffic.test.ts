// Traffic that starts on the node itself (hostNetwork Pods, the kubelet, kube-apiserver calling a
// webhook through its Service's ClusterIP) is balanced like Pod traffic (SPEC §3, issue 12 item 1):
// the real syncer programs the real nftlb, and a process in the node's network namespace connects
// to a ClusterIP, a NodePort on the node's address and an externalIP. nftlb balances such traffic
// only for farms with `intra-connect: on` (its output hook); without it the connections time out.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { cannotBuildNetwork, type TestNetwork } from "../lab/net/index.ts";
import { startClientAgent, type ClientAgent } from "../lab/net/client.ts";
import { ipBatch } from "../lab/net/sys.ts";
import { startSyncer, type Syncer } from "../syncer/run.ts";
import { sameSet, startWorld, syncerConfig, type SyncerWorld } from "./syncer-fixture.ts";
import { until } from "./until.ts";

const skip = cannotBuildNetwork();
const NS = "default";
const NODE_PORT = 30080;

let world: SyncerWorld | undefined;
let net: TestNetwork;
let syncer: Syncer | undefined;
let fromNode: ClientAgent | undefined;
let ready: string[] = [];

/** Who answers at host:port over `n` fresh TCP connections from the node itself. */
const answering = async (host: string, port: number, n = 8): Promise<Set<string>> => {
  const probes = await fromNode!.many("tcp", host, port, n, { timeoutMs: 500 });
  return new Set(probes.map((p) => (p.ok ? p.answer : "(none)")));
};

before(async () => {
  if (skip) return;
  world = await startWorld({
    backends: 3,
    port: 8080,
    nodeAddresses: (n) => [{ type: "InternalIP", address: n.node.clientSideIp }],
  });
  net = world.net;
  // A real node has an uplink: its default route. Here it points at the client namespace, which
  // does not forward, so an address nftlb does not catch goes nowhere (and stays on this machine).
  await ipBatch([`route add default via ${net.client.ip}`], net.node.ns);
  fromNode = await startClientAgent(net.node.ns);
  syncer = await startSyncer(syncerConfig(net, world.api), { log: world.log });
  await syncer.started;
  // Two of the three backends serve: the third must never answer.
  ready = net.backends.slice(0, 2).map((b) => b.name);
  await world.core.createNamespacedService({
    namespace: NS,
    body: {
      apiVersion: "v1",
      kind: "Service",
      metadata: { name: "web", namespace: NS },
      spec: {
        type: "NodePort",
        clusterIP: net.vip(10),
        externalIPs: [net.vip(20)],
        ports: [{ name: "http", port: 80, protocol: "TCP", targetPort: 8080, nodePort: NODE_PORT }],
      },
    },
  });
  await world.discovery.createNamespacedEndpointSlice({
    namespace: NS,
    body: {
      apiVersion: "discovery.k8s.io/v1",
      kind: "EndpointSlice",
      metadata: { name: "web-1", namespace: NS, labels: { "kubernetes.io/service-name": "web" } },
      addressType: "IPv4",
      endpoints: net.backends.map((b, i) => ({
        addresses: [b.ip],
        conditions: { ready: i < 2 },
        targetRef: { kind: "Pod", name: b.name, namespace: NS },
      })),
      ports: [{ name: "http", port: 8080, protocol: "TCP" }],
    },
  });
  // Programmed: Pod-side traffic (from the client namespace) already reaches both.
  await until("the client reaches both ready backends", async () => {
    const probes = await net.client.many("tcp", net.vip(10), 80, 6, { timeoutMs: 500 });
    return sameSet(new Set(probes.map((p) => (p.ok ? p.answer : "(none)"))), ready);
  });
});

after(async () => {
  if (skip) return;
  await fromNode?.close();
  await syncer?.stop();
  await world?.destroy();
});

for (const [what, host, port] of [
  ["a ClusterIP", () => net.vip(10), 80],
  ["a NodePort on the node's address", () => net.node.clientSideIp, NODE_PORT],
  ["an externalIP", () => net.vip(20), 80],
] as const) {
  test(`a process on the node reaches ${what}, balanced over the ready endpoints`, { skip }, async () => {
    const seen = await answering(host(), port);
    assert.deepEqual([...seen].sort(), ready, `from the node to ${host()}:${port}`);
  });
}

test("every farm the syncer made balances node traffic (intra-connect on, read back)", { skip }, async () => {
  const farms = await world!.nftlb.listFarms();
  assert.ok(farms.ok);
  const ours = farms.value.filter((f) => f.name.startsWith(`${NS}.web.`));
  assert.ok(ours.length > 0);
  for (const f of ours) assert.equal(f["intra-connect"], "on", f.name);
});
