// kube-proxy's health surfaces, end to end on two nodes: two test networks (each with the real
// nftlb) and two syncers with different --node-name against one API stand-in. Each syncer's node
// address is the host end of its network's API link, an address of the syncer's own network
// namespace, so the healthCheckNodePort servers listen on it as kube-proxy does on a node's IPs.
// - healthCheckNodePort: 200 where the local endpoint is, 503 on the other node; flips when the
//   endpoint moves; a port already taken is a Warning Event, and the syncer keeps running.
// - /healthz: 503 while nftlb hangs (SIGSTOP) with a change queued, 200 once it resumes; 503
//   while the Node is being deleted; /livez ignores the Node.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { createServer, type Server } from "node:net";
import { cannotBuildNetwork, createTestNetwork, type TestNetwork } from "../lab/net/index.ts";
import { startSyncer, type Syncer } from "../syncer/run.ts";
import { nftlbPid, startWorld, syncerConfig, type SyncerWorld } from "./syncer-fixture.ts";
import { until, untilTimed } from "./until.ts";

const skip = cannotBuildNetwork();
const NS = "default";
const HC_PORT = 31999;
/** Where a test network's host end sits (lab/net/network.ts): the syncer's side of the API link. */
const hostSide = (net: TestNetwork) => `10.201.${net.slot}.1`;

let world: SyncerWorld;
let net2: TestNetwork;
const syncers: Syncer[] = [];
let squatter: Server | undefined;

const get = async (url: string) => {
  const r = await fetch(url, { signal: AbortSignal.timeout(2000) });
  return { status: r.status, body: await r.text(), type: r.headers.get("content-type") };
};
const hc = (net: TestNetwork, port = HC_PORT) => get(`http://${hostSide(net)}:${port}/`);
const healthz = (path = "/healthz") => get(`http://127.0.0.1:${syncers[0]!.healthzPort}${path}`);

const slice = (node: string) => ({
  apiVersion: "discovery.k8s.io/v1",
  kind: "EndpointSlice",
  metadata: { name: "lb-1", namespace: NS, labels: { "kubernetes.io/service-name": "lb" } },
  addressType: "IPv4",
  endpoints: [{ addresses: [world.net.backends[0]!.ip], nodeName: node, conditions: { ready: true } }],
  ports: [{ name: "http", port: 8080, protocol: "TCP" }],
});
const lbService = (name: string, hcPort: number, clusterIP: string) => ({
  apiVersion: "v1",
  kind: "Service",
  metadata: { name, namespace: NS },
  spec: {
    type: "LoadBalancer",
    clusterIP,
    externalTrafficPolicy: "Local",
    healthCheckNodePort: hcPort,
    ports: [{ name: "http", port: 80, protocol: "TCP", targetPort: 8080 }],
  },
});

before(async () => {
  if (skip) return;
  world = await startWorld({
    backends: 1,
    port: 8080,
    nodeAddresses: (n) => [{ type: "InternalIP", address: hostSide(n) }],
  });
  net2 = await createTestNetwork({ backends: 0 });
  await world.core.createNode({
    body: {
      apiVersion: "v1",
      kind: "Node",
      // A finalizer keeps node-2 around once deleted, with its deletionTimestamp set.
      metadata: { name: "node-2", finalizers: ["test.kube-nftlb.io/hold"] },
      status: { addresses: [{ type: "InternalIP", address: hostSide(net2) }] },
    },
  });
  for (const [net, node] of [
    [world.net, "node-1"],
    [net2, "node-2"],
  ] as const) {
    const s = await startSyncer(
      syncerConfig(net, world.api, {
        nodeName: node,
        healthzBindAddress: { host: "127.0.0.1", port: 0 },
        healthzTimeoutMs: 1000,
      }),
      { log: world.log },
    );
    syncers.push(s);
    await s.started;
  }
});

after(async () => {
  if (skip) return;
  squatter?.close();
  for (const s of syncers) await s.stop();
  await world.core
    .patchNode({ name: "node-2", body: [{ op: "remove", path: "/metadata/finalizers" }] })
    .catch(() => undefined);
  await net2.destroy();
  await world.destroy();
});

test(
  "healthCheckNodePort: 200 on the node with the local endpoint, 503 on the other; flips when it moves",
  { skip },
  async () => {
    await world.core.createNamespacedService({
      namespace: NS,
      body: lbService("lb", HC_PORT, world.net.vip(20)),
    });
    await world.discovery.createNamespacedEndpointSlice({ namespace: NS, body: slice("node-1") });
    // healthzTimeoutMs is 1 s: a pass slower than that under load reads as an unhealthy proxy for
    // a moment, so wait for the healthy answer rather than take the first 200.
    const one = await until("node-1 answers 200 with a healthy proxy", async () => {
      const r = await hc(world.net).catch(() => undefined);
      return r?.status === 200 && r.body.includes('"serviceProxyHealthy": true') ? r : undefined;
    });
    assert.equal(one.type, "application/json");
    assert.deepEqual(JSON.parse(one.body), {
      service: { namespace: NS, name: "lb" },
      localEndpoints: 1,
      serviceProxyHealthy: true,
    });
    await until("node-2 answers 503", async () => (await hc(net2).catch(() => undefined))?.status === 503);
    assert.equal((JSON.parse((await hc(net2)).body) as { localEndpoints: number }).localEndpoints, 0);

    // The endpoint moves to node-2: both answers flip (two syncers each program the change: under
    // load that took more than the 1 s deadline this once had; the time is printed, not judged).
    await world.discovery.replaceNamespacedEndpointSlice({
      name: "lb-1",
      namespace: NS,
      body: slice("node-2"),
    });
    const ms = await untilTimed(
      "the answers flip",
      async () => (await hc(net2)).status === 200 && (await hc(world.net)).status === 503,
    );
    console.log(`# healthCheckNodePort flipped in ${Math.round(ms)} ms`);
  },
);

test(
  "healthCheckNodePort: closed when the Service goes; a port in use is an Event, not a crash",
  { skip },
  async () => {
    const taken = HC_PORT - 1;
    squatter = createServer();
    await new Promise<void>((r) => squatter!.listen(taken, hostSide(net2), r));
    await world.core.createNamespacedService({
      namespace: NS,
      body: lbService("taken", taken, world.net.vip(21)),
    });
    await until("a FailedToStartServiceHealthcheck Event", async () => {
      const events = await world.core.listNamespacedEvent({ namespace: NS });
      return events.items.some(
        (e) =>
          e.reason === "FailedToStartServiceHealthcheck" &&
          e.involvedObject.name === "taken" &&
          e.type === "Warning" &&
          (e.message ?? "").includes(`port ${taken}`) &&
          (e.message ?? "").includes("node-2"),
      );
    });
    // node-1's port was free: it serves; node-2's syncer is alive and ready.
    await until(
      "node-1 serves the second Service",
      async () => (await hc(world.net, taken).catch(() => undefined))?.status === 503,
    );
    // Ready, not crashed (a poll: the fixture's 250 ms probe gives nftlb's ping 1 s, which one
    // answer under load can miss, leaving the syncer unready until the next probe).
    await until("node-2's syncer ready", () => syncers[1]!.ready());

    await world.core.deleteNamespacedService({ name: "taken", namespace: NS });
    await until(
      "node-1 closed the port",
      async () =>
        await hc(world.net, taken).then(
          () => false,
          () => true,
        ),
    );
  },
);

test("/healthz: 503 while nftlb hangs with a change queued, 200 when it resumes", { skip }, async () => {
  await until("/healthz 200 before nftlb hangs", async () => (await healthz()).status === 200);
  const pid = nftlbPid(world.net);
  process.kill(pid, "SIGSTOP");
  try {
    // A change the syncer must program: its POST to nftlb hangs.
    await world.discovery.replaceNamespacedEndpointSlice({
      name: "lb-1",
      namespace: NS,
      body: slice("node-1"),
    });
    await until("/healthz 503", async () => (await healthz()).status === 503, 10_000);
    const body = JSON.parse((await healthz()).body) as Record<string, unknown>;
    assert.deepEqual(Object.keys(body), ["lastUpdated", "currentTime", "nodeEligible"]);
    assert.equal(body.nodeEligible, true);
    assert.equal((await healthz("/livez")).status, 503);
    // The health check says the proxy is unhealthy too, whatever the endpoints.
    assert.match((await hc(world.net)).body, /"serviceProxyHealthy": false/);
  } finally {
    process.kill(pid, "SIGCONT");
  }
  await until("/healthz 200 again", async () => (await healthz()).status === 200, 15_000);
  await until("node-1 has the endpoint again", async () => (await hc(world.net)).status === 200);
  const metrics = await (await fetch(`http://127.0.0.1:${syncers[0]!.probePort}/metrics`)).text();
  for (const m of [
    /kube_nftlb_proxy_healthz_total\{code="503"\} [1-9]/,
    /kube_nftlb_proxy_healthz_total\{code="200"\} [1-9]/,
    /kube_nftlb_proxy_livez_total\{code="503"\} [1-9]/,
    /kube_nftlb_sync_proxy_rules_endpoint_changes_total [1-9]/,
    /kube_nftlb_sync_proxy_rules_service_changes_total [1-9]/,
    /kube_nftlb_sync_proxy_rules_endpoint_changes_pending 0/,
    /kube_nftlb_sync_full_proxy_rules_duration_seconds_count [1-9]/,
    /kube_nftlb_sync_partial_proxy_rules_duration_seconds_count [1-9]/,
  ])
    assert.match(metrics, m);
});

test("/healthz: 503 while the Node is being deleted; /livez stays 200", { skip }, async () => {
  const node2 = () => get(`http://127.0.0.1:${syncers[1]!.healthzPort}/healthz`);
  await until("node-2's /healthz 200 before the Node goes", async () => (await node2()).status === 200);
  await world.core.deleteNode({ name: "node-2" });
  await until("node-2's /healthz 503", async () => (await node2()).status === 503);
  assert.match((await node2()).body, /"nodeEligible": false/);
  // /livez ignores the Node; it still reads a pass older than healthzTimeoutMs (1 s) with changes
  // pending as unhealthy, which a loaded machine shows for a moment: it must come back to 200.
  await until(
    "node-2's /livez 200 while the Node is being deleted",
    async () => (await get(`http://127.0.0.1:${syncers[1]!.healthzPort}/livez`)).status === 200,
  );
  assert.match((await node2()).body, /"nodeEligible": false/);
});
