// Moving from the original kube-nftlb, end to end: a node whose nftlb holds the original project's
// farms (`<service>--<port>`) for two Services. Adoption off: reported (Event), left unchanged.
// Adoption on: taken over in place while a looping client connects through each VIP, without
// one failed connection.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { cannotBuildNetwork } from "../lab/net/index.ts";
import { createTransport } from "../nftlb/transport.ts";
import { startSyncer, type Syncer } from "../syncer/run.ts";
import { isMarked } from "../syncer/ownership.ts";
import { answering, failuresWhile, startWorld, syncerConfig, type SyncerWorld } from "./syncer-fixture.ts";
import { until } from "./until.ts";

const skip = cannotBuildNetwork();
const NS = "default";
let w: SyncerWorld;
let syncer: Syncer | undefined;
const SERVICES = ["web", "shop"];

const vipOf = (i: number) => w.net.vip(30 + i);
/**
 * As the original kube-nftlb wrote them (its README's GET /farms/my-service--http): farm
 * `<service>--<port>` made with the farm-level shortcuts (so its address is `<farm>-addr`),
 * `intra-connect` on, backends named by Pod. Sent raw: kube-nftlb's client never sends shortcuts.
 */
const upstream = () => ({
  farms: SERVICES.map((s, i) => ({
    name: `${s}--http`,
    family: "ipv4",
    "virtual-addr": vipOf(i),
    "virtual-ports": "80",
    mode: "snat",
    protocol: "tcp",
    scheduler: "rr",
    "intra-connect": "on",
    backends: w.net.backends.map((b) => ({
      name: b.name,
      "ip-addr": b.ip,
      port: "8080",
      weight: "1",
      state: "up",
    })),
  })),
});

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
  const send = createTransport({ url: w.net.nftlb.url, key: w.net.nftlb.key, timeoutMs: 10_000 });
  const sent = await send("POST", "/farms", JSON.stringify(upstream()));
  assert.ok(sent.ok && sent.answer.body.includes('"success"'), "the original project's farms are in nftlb");
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
  for (const [i, want] of upstream().farms.entries()) {
    const got = await farm(want.name);
    assert.equal(got?.addresses[0]?.["ip-addr"], vipOf(i), `${want.name} keeps its VIP`);
    assert.equal(got?.state, "up", `${want.name} is still up`);
    assert.equal((await answering(w.net, vipOf(i), 80, 2)).has("(none)"), false, `${want.name} balances`);
  }
  assert.equal((await syncer.metrics.upstreamFarms.get()).values[0]?.value, 2, "the metric counts them");
  await syncer.stop();
  syncer = undefined;
});

test(
  "adoption on: both Services are taken over in place, without a failed connection from a looping client",
  { skip },
  async () => {
    const addressBackends = w.net.backends
      .map((b) => b.ip)
      .sort()
      .join();
    const failures = await Promise.all(
      SERVICES.map((s, i) =>
        failuresWhile(w.net, vipOf(i), 80, async () => {
          if (i === 0) {
            syncer = await startSyncer(syncerConfig(w.net, w.api, { adoptUpstreamFarms: true }), {
              log: w.log,
            });
            await syncer.started;
          }
          await until(`${s}--http is kube-nftlb's, with the Service's backends`, async () => {
            const f = await farm(`${s}--http`);
            return (
              f !== undefined &&
              isMarked(f) &&
              f.backends
                .map((b) => b.name)
                .sort()
                .join() === addressBackends
            );
          });
          await until(
            `${NS}.${s}.http (made while adoption was off) is gone`,
            async () => (await farm(`${NS}.${s}.http`)) === undefined,
          );
        }),
      ),
    );
    assert.deepEqual(failures, [[], []], "no connection failed while the farms were taken over");
    for (const [i, s] of SERVICES.entries()) {
      const f = await farm(`${s}--http`);
      assert.deepEqual(
        f?.addresses.map((a) => a["ip-addr"]),
        [vipOf(i)],
        `${s}'s VIP never left its farm`,
      );
      assert.equal((await answering(w.net, vipOf(i), 80, 4)).size, 2, `${s} balances over both backends`);
    }
    const adopted = new Set((await events("UpstreamFarmAdopted")).map((e) => e.involvedObject.name));
    assert.ok(
      SERVICES.every((s) => adopted.has(s)),
      "each adoption is an Event on its Service",
    );
    assert.ok(!w.net.nftlb.logs().includes("nft command error"), "nftlb never rebuilt its table");
    assert.equal((await syncer!.metrics.upstreamFarms.get()).values[0]?.value, 0, "none left to adopt");
  },
);
