// Moving from the original kube-nftlb, end to end: a node whose nftlb holds the original project's
// farms (`<service>--<port>`) for two Services. Adoption off: reported (Event), left unchanged.
// Adoption on: taken over while a looping client connects through each VIP.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { cannotBuildNetwork, testFarm } from "../lab/net/index.ts";
import { startSyncer, type Syncer } from "../syncer/run.ts";
import {
  answering,
  failuresWhile,
  startWorld,
  syncerConfig,
  until,
  type SyncerWorld,
} from "./syncer-fixture.ts";

const skip = cannotBuildNetwork();
const NS = "default";
let w: SyncerWorld;
let syncer: Syncer | undefined;
const SERVICES = ["web", "shop"];

const vipOf = (i: number) => w.net.vip(30 + i);
/** As the original kube-nftlb wrote them: farm `<service>--<port>`, backends named by Pod. */
const upstream = () =>
  SERVICES.map((s, i) => testFarm({ name: `${s}--http`, vip: vipOf(i), port: 80, backends: w.net.backends }));

const farm = async (name: string) => {
  const r = await w.nftlb.getFarm(name);
  assert.ok(r.ok, JSON.stringify(r));
  return r.value;
};
const events = async (reason: string) =>
  (await w.core.listNamespacedEvent({ namespace: NS })).items.filter((e) => e.reason === reason);

before(async () => {
  if (skip) return;
  w = await startWorld({ backends: 2, port: 8080 });
  assert.ok((await w.nftlb.upsertFarms(upstream())).ok, "the original project's farms are in nftlb");
  for (const [i, s] of SERVICES.entries()) {
    await w.core.createNamespacedService({
      namespace: NS,
      body: {
        apiVersion: "v1",
        kind: "Service",
        metadata: { name: s, namespace: NS },
        spec: { clusterIP: vipOf(i), ports: [{ name: "http", port: 80, protocol: "TCP", targetPort: 8080 }] },
      },
    });
    await w.discovery.createNamespacedEndpointSlice({
      namespace: NS,
      body: {
        apiVersion: "discovery.k8s.io/v1",
        kind: "EndpointSlice",
        metadata: { name: `${s}-1`, namespace: NS, labels: { "kubernetes.io/service-name": s } },
        addressType: "IPv4",
        endpoints: w.net.backends.map((b) => ({ addresses: [b.ip], conditions: { ready: true } })),
        ports: [{ name: "http", port: 8080, protocol: "TCP" }],
      },
    });
  }
});

after(async () => {
  if (skip) return;
  await syncer?.stop();
  await w?.destroy();
});

test("adoption off: the original project's farms are reported and left unchanged", { skip }, async () => {
  syncer = await startSyncer(syncerConfig(w.net, w.api), { log: w.log });
  await syncer.started;
  await until("an UpstreamFarmFound Event per Service", async () => {
    const names = new Set((await events("UpstreamFarmFound")).map((e) => e.involvedObject.name));
    return SERVICES.every((s) => names.has(s));
  });
  for (const [i, want] of upstream().entries()) {
    const got = await farm(want.name);
    assert.equal(got?.addresses[0]?.["ip-addr"], vipOf(i), `${want.name} keeps its VIP`);
    assert.equal(got?.state, "up", `${want.name} is still up`);
    assert.equal((await answering(w.net, vipOf(i), 80, 2)).has("(none)"), false, `${want.name} balances`);
  }
  assert.match(await syncer.metrics.upstreamFarms.get().then((m) => String(m.values[0]?.value)), /^2$/);
  await syncer.stop();
  syncer = undefined;
});

test(
  "adoption on: both Services are taken over, upstream farms deleted, a looping client connecting throughout",
  { skip },
  async () => {
    const failures = await Promise.all(
      SERVICES.map((_, i) =>
        failuresWhile(w.net, vipOf(i), 80, async () => {
          if (i === 0) {
            syncer = await startSyncer(syncerConfig(w.net, w.api, { adoptUpstreamFarms: true }), {
              log: w.log,
            });
            await syncer.started;
          }
          await until(
            `${SERVICES[i]}--http is gone and ${NS}.${SERVICES[i]}.http holds the VIP`,
            async () => {
              const ours = await farm(`${NS}.${SERVICES[i]}.http`);
              return (
                (await farm(`${SERVICES[i]}--http`)) === undefined &&
                (ours?.addresses.some((a) => a["ip-addr"] === vipOf(i)) ?? false)
              );
            },
          );
        }),
      ),
    );
    console.log(`# failed connections during the take-over: ${JSON.stringify(failures)}`);
    for (const [i] of SERVICES.entries())
      assert.equal(
        (await answering(w.net, vipOf(i), 80, 4)).size,
        2,
        `${SERVICES[i]} balances over both backends`,
      );
    assert.ok((await events("UpstreamFarmAdopted")).length >= 2, "each adoption is an Event");
    assert.ok(!w.net.nftlb.logs().includes("nft command error"), "nftlb never rebuilt its table");
  },
);
