// Farms kube-nftlb did not make, end to end: the real syncer, the API stand-in, the real nftlb.
// Hand-made farms with dotted names survive garbage collection; a hand-made farm whose address
// object is named like kube-nftlb's keeps its VIP; a foreign farm holding a Service's VIP:port
// is an AddressInUse Event, and once it is deleted the Service takes the address within a probe
// period (the resync is a minute away here).
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { cannotBuildNetwork, testFarm } from "../lab/net/index.ts";
import { startSyncer, type Syncer } from "../syncer/run.ts";
import { addressName } from "../syncer/desired-names.ts";
import { answering, startWorld, syncerConfig, type SyncerWorld } from "./syncer-fixture.ts";
import { until, untilTimed } from "./until.ts";

const skip = cannotBuildNetwork();
const NS = "default";
let w: SyncerWorld;
let syncer: Syncer | undefined;

const service = (name: string, clusterIP: string) => ({
  apiVersion: "v1",
  kind: "Service",
  metadata: { name, namespace: NS },
  spec: { clusterIP, ports: [{ name: "http", port: 80, protocol: "TCP", targetPort: 8080 }] },
});

const slice = (svc: string) => ({
  apiVersion: "discovery.k8s.io/v1",
  kind: "EndpointSlice",
  metadata: { name: `${svc}-1`, namespace: NS, labels: { "kubernetes.io/service-name": svc } },
  addressType: "IPv4",
  endpoints: w.net.backends.map((b) => ({
    addresses: [b.ip],
    conditions: { ready: true },
    targetRef: { kind: "Pod", name: b.name, namespace: NS },
  })),
  ports: [{ name: "http", port: 8080, protocol: "TCP" }],
});

const addService = async (name: string, ip: string) => {
  await w.core.createNamespacedService({ namespace: NS, body: service(name, ip) });
  await w.discovery.createNamespacedEndpointSlice({ namespace: NS, body: slice(name) });
};

const farm = async (name: string) => {
  const r = await w.nftlb.getFarm(name);
  assert.ok(r.ok, JSON.stringify(r));
  return r.value;
};

const events = async (svc: string, reason: string) =>
  (await w.core.listNamespacedEvent({ namespace: NS })).items.filter(
    (e) => e.involvedObject.name === svc && e.reason === reason,
  );

const foreign = (name: string, vip: string, port: number) =>
  testFarm({ name, vip, port, backends: w.net.backends });

before(async () => {
  if (skip) return;
  w = await startWorld({ backends: 2, port: 8080 });
});

after(async () => {
  if (skip) return;
  await syncer?.stop();
  await w?.destroy();
});

test("hand-made farms with dotted names survive the syncer's garbage collection", { skip }, async () => {
  const made = [foreign("www.example.com", w.net.vip(20), 80), foreign("lb.prod.v6", w.net.vip(21), 80)];
  assert.ok((await w.nftlb.upsertFarms(made)).ok, "the hand-made farms are written");
  syncer = await startSyncer(syncerConfig(w.net, w.api, { nftlbProbeMs: 200 }), { log: w.log });
  await syncer.started;
  await addService("web", w.net.vip(10));
  await until("web is programmed", async () => (await farm(`${NS}.web.http`)) !== undefined);
  // The first full reconcile ran before "web" was programmed: its GC had its chance. Another
  // full pass, as the periodic resync makes:
  syncer.queue.add("*");
  await until("web answers", async () => (await answering(w.net, w.net.vip(10), 80, 4)).size === 2);
  for (const f of made) {
    const got = await farm(f.name);
    assert.ok(got !== undefined, `${f.name} is still in nftlb`);
    assert.equal(got.addresses[0]?.["ip-addr"], f.addresses[0]!["ip-addr"], `${f.name} keeps its VIP`);
  }
  assert.equal(
    (await answering(w.net, w.net.vip(20), 80, 2)).has("(none)"),
    false,
    "www.example.com balances",
  );
});

test(
  "a hand-made farm using an address object named like kube-nftlb's is never rewritten",
  { skip },
  async () => {
    const vip = w.net.vip(11);
    const elsewhere = w.net.vip(22);
    // Named as kube-nftlb names the address of vip:80, holding another VIP.
    const handmade = foreign("handmade", elsewhere, 80);
    handmade.addresses[0]!.name = addressName("tcp", vip, 80);
    assert.ok((await w.nftlb.upsertFarms([handmade])).ok);
    await addService("api", vip);
    await until("an AddressInUse Event on api", async () => (await events("api", "AddressInUse")).length > 0);
    syncer!.queue.add("*");
    await until("the full pass ran", () => syncer!.queue.depth === 0);
    const got = await farm("handmade");
    assert.equal(got?.addresses[0]?.["ip-addr"], elsewhere, "the hand-made farm keeps its VIP");
    assert.equal((await answering(w.net, elsewhere, 80, 2)).has("(none)"), false, "and still balances it");
  },
);

test(
  "a foreign farm on a Service's VIP:port: AddressInUse, then taken over within seconds of its deletion",
  { skip },
  async () => {
    const vip = w.net.vip(12);
    assert.ok((await w.nftlb.upsertFarms([foreign("legacy", vip, 80)])).ok);
    await addService("shop", vip);
    await until(
      "an AddressInUse Event on shop",
      async () => (await events("shop", "AddressInUse")).length > 0,
    );
    const held = await farm("legacy");
    assert.equal(held?.addresses[0]?.["ip-addr"], vip, "the foreign farm is left as it is");
    assert.equal(
      (await farm(`${NS}.shop.http`))?.addresses.some((a) => a["ip-addr"] === vip) ?? false,
      false,
      "shop's farm does not claim the held address",
    );
    assert.ok((await w.nftlb.deleteFarm("legacy")).ok);
    // The resync is 60 s away (syncerConfig): only the re-check of held addresses gets it sooner.
    const ms = await untilTimed(
      "shop's farm takes the address",
      async () => (await farm(`${NS}.shop.http`))?.addresses.some((a) => a["ip-addr"] === vip) ?? false,
      10_000,
    );
    console.log(`# take-over after the foreign farm's deletion: ${Math.round(ms)} ms`);
    await until("shop answers", async () => (await answering(w.net, vip, 80, 4)).size === 2);
  },
);
