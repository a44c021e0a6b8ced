// kube-nftlb's own table (syncer/node-rules*.ts) with real packets: the real syncer, the real
// nftlb, the API stand-in, clients outside the node, in a Pod and on the node itself. The node has
// a default route to a namespace that counts what arrives, so a leak toward a gateway shows.
// Refusal times are printed, never asserted: a refusal (ECONNREFUSED) is immediate by nature, a
// drop or a leak is a timeout.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import {
  addCountingGateway,
  cannotBuildNetwork,
  startClientAgent,
  type ClientAgent,
  type CountingGateway,
} from "../lab/net/index.ts";
import { ipBatch, inNs } from "../lab/net/sys.ts";
import { startSyncer, type Syncer } from "../syncer/run.ts";
import { startWorld, syncerConfig, type SyncerWorld } from "./syncer-fixture.ts";
import { until, untilTimed } from "./until.ts";

const skip = cannotBuildNetwork();
const NS = "default";

let world: SyncerWorld;
let syncer: Syncer | undefined;
let gateway: CountingGateway;
let pod: ClientAgent;
let host: ClientAgent;
let nodeIp = "";

const vip = (n: number) => world.net.vip(n);

before(async () => {
  if (skip) return;
  world = await startWorld({
    backends: 2,
    port: 8080,
    nodeAddresses: (net) => [{ type: "InternalIP", address: net.node.clientSideIp }],
  });
  nodeIp = world.net.node.clientSideIp;
  gateway = await addCountingGateway(world.net);
  pod = await startClientAgent(world.net.backends[1]!.ns);
  host = await startClientAgent(world.net.node.ns);
  syncer = await startSyncer(syncerConfig(world.net, world.api), { log: world.log });
  await syncer.started;
});

after(async () => {
  if (skip) return;
  await syncer?.stop();
  await pod?.close();
  await host?.close();
  await gateway?.destroy();
  await world?.destroy();
});

const service = (name: string, spec: Record<string, unknown>) =>
  world.core.createNamespacedService({
    namespace: NS,
    body: { apiVersion: "v1", kind: "Service", metadata: { name, namespace: NS }, spec },
  });

const slice = (service: string, backend: number, nodeName: string) => ({
  apiVersion: "discovery.k8s.io/v1",
  kind: "EndpointSlice",
  metadata: { name: `${service}-1`, namespace: NS, labels: { "kubernetes.io/service-name": service } },
  addressType: "IPv4",
  endpoints: [
    {
      addresses: [world.net.backends[backend]!.ip],
      conditions: { ready: true },
      nodeName,
      targetRef: { kind: "Pod", name: world.net.backends[backend]!.name, namespace: NS },
    },
  ],
  ports: [{ name: "http", port: 8080, protocol: "TCP" }],
});

const nodePortOf = async (name: string) =>
  (await world.core.readNamespacedService({ name, namespace: NS })).spec!.ports![0]!.nodePort!;

/** One TCP connection; its error code, or the backend that answered. */
const outcome = async (agent: ClientAgent, ip: string, port: number, from?: string) => {
  const t0 = performance.now();
  const p = await agent.tcp(ip, port, { timeoutMs: 1500, from });
  return { what: p.ok ? p.answer : p.error, ms: Math.round(performance.now() - t0) };
};

const HTTP = { name: "http", port: 80, targetPort: 8080, protocol: "TCP" };

test(
  "a Service with no endpoints: refused at once from outside, from a Pod and from the node; nothing reaches the gateway",
  { skip },
  async () => {
    await service("empty", {
      type: "NodePort",
      clusterIP: vip(10),
      externalIPs: [vip(60)],
      ports: [HTTP, { name: "dns", port: 53, targetPort: 53, protocol: "UDP" }],
    });
    const nodePort = await nodePortOf("empty");
    await until(
      "the ClusterIP refuses",
      async () => (await outcome(world.net.client, vip(10), 80)).what === "ECONNREFUSED",
    );
    // Counted from here: before the Service existed, its ClusterIP was just an address routed away.
    const before = await gateway.arrived();
    const cases: [string, ClientAgent, string, number][] = [
      ["outside → ClusterIP", world.net.client, vip(10), 80],
      ["outside → externalIP", world.net.client, vip(60), 80],
      ["outside → NodePort", world.net.client, nodeIp, nodePort],
      ["Pod → ClusterIP", pod, vip(10), 80],
      ["Pod → externalIP", pod, vip(60), 80],
      ["node → ClusterIP", host, vip(10), 80],
      ["node → externalIP", host, vip(60), 80],
    ];
    for (const [what, agent, ip, port] of cases) {
      const r = await outcome(agent, ip, port);
      console.log(`# ${what}: ${r.what} after ${r.ms} ms`);
      assert.equal(r.what, "ECONNREFUSED", what);
    }
    // UDP: refused with ICMP port unreachable (an unconnected socket does not hear it: no answer).
    for (const agent of [world.net.client, pod, host])
      assert.equal((await agent.udp(vip(10), 53, { timeoutMs: 300 })).ok, false);
    assert.equal((await gateway.arrived()) - before, 0, "no packet went toward the default route");
  },
);

test(
  "endpoints appear → balanced; gone again → refused (the table follows every write)",
  { skip },
  async () => {
    await world.discovery.createNamespacedEndpointSlice({ namespace: NS, body: slice("empty", 0, "node-1") });
    const b0 = world.net.backends[0]!.name;
    await until("backend-0 answers", async () => (await outcome(world.net.client, vip(10), 80)).what === b0);
    assert.equal((await outcome(pod, vip(60), 80)).what, b0, "the externalIP is balanced too");
    await world.discovery.deleteNamespacedEndpointSlice({ name: "empty-1", namespace: NS });
    await until(
      "refused again",
      async () => (await outcome(world.net.client, vip(10), 80)).what === "ECONNREFUSED",
    );
  },
);

test("the table is put back when someone deletes it", { skip }, async () => {
  await inNs(world.net.node.ns, ["nft", "delete", "table", "inet", "kube-nftlb"]);
  const ms = await untilTimed(
    "refused again",
    async () => (await outcome(world.net.client, vip(10), 80)).what === "ECONNREFUSED",
  );
  console.log(`# table back after ${Math.round(ms)} ms (nftlb probe period 250 ms)`);
  const tables = await inNs(world.net.node.ns, ["nft", "list", "tables"]);
  assert.match(tables, /table ip nftlb/, "nftlb's table untouched");
});

test(
  "externalTrafficPolicy Local with no local endpoint: external traffic dropped, the ClusterIP still balanced",
  { skip },
  async () => {
    await service("local", {
      type: "NodePort",
      clusterIP: vip(11),
      externalIPs: [vip(61)],
      externalTrafficPolicy: "Local",
      ports: [HTTP],
    });
    await world.discovery.createNamespacedEndpointSlice({ namespace: NS, body: slice("local", 1, "node-2") });
    const b1 = world.net.backends[1]!.name;
    await until(
      "the ClusterIP reaches backend-1",
      async () => (await outcome(world.net.client, vip(11), 80)).what === b1,
    );
    const nodePort = await nodePortOf("local");
    const before = await gateway.arrived();
    for (const [what, ip, port] of [
      ["NodePort", nodeIp, nodePort],
      ["externalIP", vip(61), 80],
    ] as const) {
      const r = await outcome(world.net.client, ip, port);
      console.log(`# outside → ${what} (Local, no local endpoint): ${r.what}`);
      assert.equal(r.what, "timeout (no handshake)", `${what}: dropped, neither answered nor refused`);
    }
    assert.equal((await gateway.arrived()) - before, 0, "no packet went toward the default route");
  },
);

test("loadBalancerSourceRanges: the allowed source connects, the denied one does not", { skip }, async () => {
  const allowed = world.net.client.ip;
  const denied = allowed.replace(/\.2$/, ".3");
  await ipBatch([`addr add ${denied}/24 dev eth0`], world.net.client.ns);
  await service("lb", {
    type: "LoadBalancer",
    clusterIP: vip(12),
    ports: [HTTP],
    loadBalancerSourceRanges: [`${allowed}/32`],
  });
  const svc = await world.core.readNamespacedService({ name: "lb", namespace: NS });
  svc.status = { loadBalancer: { ingress: [{ ip: vip(70) }] } };
  await world.core.replaceNamespacedServiceStatus({ name: "lb", namespace: NS, body: svc });
  await world.discovery.createNamespacedEndpointSlice({ namespace: NS, body: slice("lb", 0, "node-1") });
  const b0 = world.net.backends[0]!.name;
  await until(
    "the LB IP reaches backend-0",
    async () => (await outcome(world.net.client, vip(70), 80, allowed)).what === b0,
  );
  const r = await outcome(world.net.client, vip(70), 80, denied);
  console.log(`# denied source → LB IP: ${r.what}`);
  assert.equal(r.what, "timeout (no handshake)", "the denied source is dropped");
  assert.equal(
    (await outcome(world.net.client, vip(12), 80, denied)).what,
    b0,
    "the ClusterIP is not restricted",
  );
  // What the node cannot restrict is said on the Service: its nodePorts stay open (as kube-proxy).
  await until("a Warning Event about the open nodePorts", async () => {
    const events = await world.core.listNamespacedEvent({ namespace: NS });
    return events.items.some(
      (e) =>
        e.type === "Warning" &&
        e.involvedObject.name === "lb" &&
        e.reason === "ServiceConfigWarning" &&
        /loadBalancerSourceRanges: enforced on the load balancer's IPs only/.test(e.message ?? ""),
    );
  });
});
