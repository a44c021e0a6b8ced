// The syncer end to end: the Kubernetes API stand-in (lab/apiserver), the real nftlb in a network
// namespace and real packets from a client namespace to echo backends (lab/net). Convergence
// times are printed, never asserted.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import type { CoreV1Api, DiscoveryV1Api } from "@kubernetes/client-node";
import type { ApiServer } from "../lab/apiserver/index.ts";
import { cannotBuildNetwork, type TestNetwork } from "../lab/net/index.ts";
import type { NftlbClient } from "../nftlb/index.ts";
import { startSyncer, type Syncer } from "../syncer/run.ts";
import {
  answering as answeringAt,
  failuresWhile,
  sameSet,
  startWorld,
  syncerConfig,
  type SyncerWorld,
} from "./syncer-fixture.ts";
import { until, untilTimed } from "./until.ts";

const skip = cannotBuildNetwork();
const NS = "default";
const FARM = `${NS}.web.http`;
const SCHED = "service.kubernetes.io/kube-nftlb-load-balancer-scheduler";

let net: TestNetwork;
let api: ApiServer;
let core: CoreV1Api;
let discovery: DiscoveryV1Api;
let nftlb: NftlbClient;
let syncer: Syncer | undefined;
let vip = "";

const say = (what: string, ms: number) => console.log(`# ${what}: converged in ${Math.round(ms)} ms`);

const start = async () => {
  syncer = await startSyncer(syncerConfig(net, api), {
    log: world!.log,
  });
  await syncer.started;
};

const slice = (backends: string[]) => ({
  apiVersion: "discovery.k8s.io/v1",
  kind: "EndpointSlice",
  metadata: {
    name: "web-1",
    namespace: NS,
    labels: { "kubernetes.io/service-name": "web" },
    annotations: { "endpoints.kubernetes.io/last-change-trigger-time": new Date().toISOString() },
  },
  addressType: "IPv4",
  endpoints: backends.map((name) => {
    const b = net.backends.find((x) => x.name === name)!;
    return {
      addresses: [b.ip],
      conditions: { ready: true },
      targetRef: { kind: "Pod", name, namespace: NS },
    };
  }),
  ports: [{ name: "http", port: 8080, protocol: "TCP" }],
});

const setSlice = (backends: string[]) =>
  discovery.replaceNamespacedEndpointSlice({ name: "web-1", namespace: NS, body: slice(backends) });

/** The backends answering at the ClusterIP over `n` fresh connections. */
const answering = (n = 12) => answeringAt(net, vip, 80, n);
const eq = sameSet;

const farm = async () => {
  const r = await nftlb.getFarm(FARM);
  return r.ok ? r.value : undefined;
};
const farmBackends = async () => ((await farm())?.backends ?? []).map((b) => b.name).sort();

/** Probes continuously while `during` runs; returns the failed probes (moments without a backend). */
const watchTraffic = (during: () => Promise<void>) => failuresWhile(net, vip, 80, during);

let world: SyncerWorld | undefined;

before(async () => {
  if (skip) return;
  world = await startWorld({
    backends: 3,
    port: 8080,
    nodeAddresses: (n) => [{ type: "InternalIP", address: n.node.clientSideIp }],
  });
  ({ net, api, core, discovery, nftlb } = world);
  vip = net.vip(10);
  await start();
});

after(async () => {
  if (skip) return;
  await syncer?.stop();
  await world?.destroy();
});

test("Service + EndpointSlice → traffic to the ClusterIP reaches the backends", { skip }, async () => {
  await core.createNamespacedService({
    namespace: NS,
    body: {
      apiVersion: "v1",
      kind: "Service",
      metadata: { name: "web", namespace: NS },
      spec: { clusterIP: vip, ports: [{ name: "http", port: 80, protocol: "TCP", targetPort: 8080 }] },
    },
  });
  await discovery.createNamespacedEndpointSlice({ namespace: NS, body: slice([net.backends[0]!.name]) });
  say(
    "create",
    await untilTimed("traffic reaches b0", async () => eq(await answering(4), [net.backends[0]!.name])),
  );
});

test("scale up and down: traffic follows, with no moment without a backend", { skip }, async () => {
  const [b0, b1, b2] = net.backends.map((b) => b.name) as [string, string, string];
  const failures = await watchTraffic(async () => {
    await setSlice([b0, b1, b2]);
    say("scale 1→3", await untilTimed("all three answer", async () => eq(await answering(), [b0, b1, b2])));
    await setSlice([b2]);
    say("scale 3→1", await untilTimed("only b2 answers", async () => eq(await answering(), [b2])));
    // The probe loop and answering() share nftlb's rr counter, so interleaved they can each see
    // one backend while another is still in the farm: also wait for nftlb's own view.
    await until("the farm holds only b2", async () => (await farmBackends()).join() === b2);
  });
  assert.deepEqual(failures, [], "every probe during scaling reached a backend");
});

test("scheduler annotation change → the farm changes, the backends stay", { skip }, async () => {
  // Traffic reaching only b2 does not mean the scale-down's DELETEs are all answered: start from
  // the farm once they are, so that "before" is not read mid-reconcile.
  await until("the scale-down's removals are done", async () => (await farmBackends()).length === 1);
  const before = await farmBackends();
  const writes = syncer!.reconciler.stats.writes;
  const svc = await core.readNamespacedService({ name: "web", namespace: NS });
  svc.metadata!.annotations = { ...svc.metadata!.annotations, [SCHED]: "hash-srcip" };
  await core.replaceNamespacedService({ name: "web", namespace: NS, body: svc });
  say("scheduler", await untilTimed("scheduler hash", async () => (await farm())?.scheduler === "hash"));
  assert.deepEqual(await farmBackends(), before);
  assert.equal(syncer!.reconciler.stats.writes - writes, 1, "one POST, no backend removed and re-added");
});

test("faults: a dropped watch, a 410 relist and 10 s of API 500s each converge", { skip }, async () => {
  const [b0, , b2] = net.backends.map((b) => b.name) as [string, string, string];
  api.faults.dropWatches();
  await setSlice([b0]);
  say("watch dropped", await untilTimed("b0 after a dropped watch", async () => eq(await answering(), [b0])));

  api.faults.expireWatches();
  await setSlice([b2]);
  say("410 relist", await untilTimed("b2 after a 410", async () => eq(await answering(), [b2])));

  // Reads fail (lists and watches), so the informers stop and must be restarted; our writes pass.
  api.faults.failRequests({ status: 500, forMs: 10_000, match: (method) => method === "GET" });
  api.faults.dropWatches();
  const t0 = performance.now();
  await setSlice([b0]);
  await until("b0 after 10 s of 500s", async () => eq(await answering(), [b0]), 60_000);
  say("API 500 for 10 s (from the change)", performance.now() - t0);
  assert.ok(syncer!.sources.services.stats.restarts > 0, "the informers were restarted");
});

test("nftlb killed and restarted → everything re-programmed", { skip }, async () => {
  const before = await farmBackends();
  await net.nftlb.restart();
  say(
    "nftlb restart",
    await untilTimed("farm back", async () => (await farmBackends()).join() === before.join()),
  );
  assert.ok(eq(await answering(), before));
});

test(
  "100 updates of one key in a burst cause far fewer writes; an unchanged resync writes nothing",
  { skip },
  async () => {
    const [b0, b1, b2] = net.backends.map((b) => b.name) as [string, string, string];
    const writes = syncer!.reconciler.stats.writes;
    // 99 updates sent at once (a burst, as a rollout makes), then the last one.
    await Promise.all(Array.from({ length: 99 }, (_, i) => setSlice(i % 2 === 0 ? [b0, b1] : [b0, b1, b2])));
    await setSlice([b0]);
    await until("last update programmed", async () => (await farmBackends()).join() === [b0].join());
    const used = syncer!.reconciler.stats.writes - writes;
    console.log(`# burst: 100 EndpointSlice updates → ${used} nftlb writes`);
    assert.ok(used < 50, `${used} writes`);

    const quiet = syncer!.reconciler.stats.writes;
    const syncs = syncer!.reconciler.stats.syncs;
    api.faults.expireWatches();
    syncer!.queue.add("*", { resync: true });
    await until("a full resync ran", () => syncer!.reconciler.stats.syncs > syncs);
    assert.equal(syncer!.reconciler.stats.writes, quiet, "an unchanged relist and resync write nothing");
  },
);

test(
  "a Service deleted while the syncer is stopped is removed at start; delete → farm gone",
  { skip },
  async () => {
    await syncer!.stop();
    assert.ok(await farm(), "stopping leaves nftlb's rules in place");
    await core.deleteNamespacedService({ name: "web", namespace: NS });
    await discovery.deleteNamespacedEndpointSlice({ name: "web-1", namespace: NS });
    const t0 = performance.now();
    await start();
    await until("garbage farm deleted", async () => (await farm()) === undefined);
    say("deleted while stopped (from start)", performance.now() - t0);

    await core.createNamespacedService({
      namespace: NS,
      body: {
        apiVersion: "v1",
        kind: "Service",
        metadata: { name: "web", namespace: NS },
        spec: { clusterIP: vip, ports: [{ name: "http", port: 80, protocol: "TCP", targetPort: 8080 }] },
      },
    });
    await discovery.createNamespacedEndpointSlice({ namespace: NS, body: slice([net.backends[0]!.name]) });
    await until("farm back", async () => (await farm()) !== undefined);
    await core.deleteNamespacedService({ name: "web", namespace: NS });
    say("delete", await untilTimed("farm gone", async () => (await farm()) === undefined));
  },
);
