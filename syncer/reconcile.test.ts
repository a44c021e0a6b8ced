import { test } from "node:test";
import assert from "node:assert/strict";
import { FULL } from "./reconcile.ts";
import type { Farm } from "../nftlb/types.ts";
import { estimateMemory, MEMORY_HEADROOM } from "./capacity.ts";
import { overFrontends } from "./conntrack-tool.ts";
import { OWNER_FIELD, OWNER_MARK } from "./ownership.ts";
import { backends, PREFIX, setup } from "./reconcile.test-helpers.ts";
import { Registry } from "prom-client";
import { createSyncerMetrics } from "./metrics.ts";

test("a full reconcile programs every Service in one POST; running it again writes nothing", async () => {
  const t = setup();
  t.cluster.put("ns", "web", "10.96.0.10", ["10.1.0.1", "10.1.0.2"]);
  t.cluster.put("ns", "db", "10.96.0.11", ["10.1.0.3"]);
  t.queue.add(FULL);
  await t.run();
  assert.deepEqual(t.nftlb.writes, ["POST ns.db.http,ns.web.http"]);
  assert.deepEqual(backends(t.nftlb.farms.get("ns.web.http")), ["10.1.0.1", "10.1.0.2"]);
  assert.equal(t.reconciler.programmed, true);
  assert.equal(t.nftlb.sentinel, true, "the restart sentinel is planted after the first full sync");
  t.queue.add(FULL);
  t.queue.add("ns/web");
  await t.run();
  assert.deepEqual(t.nftlb.writes, ["POST ns.db.http,ns.web.http"], "an unchanged resync writes nothing");
  await t.stop();
});

test("a full reconcile deletes the garbage farms kube-nftlb marked, never unmarked ones whatever their names", async () => {
  const t = setup();
  const garbage = (name: string, marked = false): Farm => ({
    ...(structuredClone(t.nftlb.farms.get("x")) as Farm),
    name,
    ...(marked ? { [OWNER_FIELD]: OWNER_MARK } : {}),
    addresses: [],
    backends: [],
  });
  t.nftlb.farms.set("gone.svc.http", garbage("gone.svc.http", true));
  t.nftlb.farms.set("handmade", garbage("handmade"));
  for (const name of ["www.example.com", "lb.prod.v6", "old.svc.http"])
    t.nftlb.farms.set(name, garbage(name));
  t.cluster.put("ns", "web", "10.96.0.10", ["10.1.0.1"]);
  t.queue.add(FULL);
  await t.run();
  assert.ok(t.nftlb.farms.has("ns.web.http"));
  assert.ok(
    !t.nftlb.farms.has("gone.svc.http"),
    "a farm of a Service deleted while the syncer was down goes",
  );
  assert.ok(t.nftlb.farms.has("handmade"), "a farm kube-nftlb did not name stays");
  for (const name of ["www.example.com", "lb.prod.v6", "old.svc.http"])
    assert.ok(t.nftlb.farms.has(name), `${name}, unmarked, stays`);
  assert.equal(t.nftlb.farms.get("ns.web.http")?.[OWNER_FIELD], OWNER_MARK, "what it writes is marked");
  await t.stop();
});

test("a backend replaced by another: one POST reuses its entry (no DELETE), never zero backends", async () => {
  const t = setup();
  t.cluster.put("ns", "web", "10.96.0.10", ["10.1.0.1"]);
  t.queue.add(FULL);
  await t.run();
  t.cluster.put("ns", "web", "10.96.0.10", ["10.1.0.2"]);
  t.queue.add("ns/web");
  await t.run();
  assert.deepEqual(t.nftlb.writes.slice(1), ["POST ns.web.http"]);
  assert.deepEqual(backends(t.nftlb.farms.get("ns.web.http")), ["10.1.0.2"]);
  await t.stop();
});

test("a deleted Service's farms are deleted", async () => {
  const t = setup();
  t.cluster.put("ns", "web", "10.96.0.10", ["10.1.0.1"]);
  t.queue.add(FULL);
  await t.run();
  t.cluster.services.delete("ns/web");
  t.queue.add("ns/web");
  await t.run();
  assert.equal(t.nftlb.farms.size, 0);
  await t.stop();
});

test("a burst of 100 updates of one key causes one nftlb write, not 100", async () => {
  const t = setup();
  t.cluster.put("ns", "web", "10.96.0.10", ["10.1.0.1"]);
  t.queue.add(FULL);
  await t.run();
  for (let i = 0; i < 100; i++) {
    t.cluster.put("ns", "web", "10.96.0.10", ["10.1.0.1", `10.2.0.${i + 1}`]);
    t.queue.add("ns/web");
  }
  await t.run();
  assert.deepEqual(t.nftlb.writes.slice(1), ["POST ns.web.http"]);
  assert.deepEqual(backends(t.nftlb.farms.get("ns.web.http")), ["10.1.0.1", "10.2.0.100"]);
  await t.stop();
});

test("invalid annotations fall back to defaults, and the Service gets one deduplicated Warning", async () => {
  const t = setup();
  t.cluster.put("ns", "web", "10.96.0.10", ["10.1.0.1"], { [`${PREFIX}scheduler`]: "RR" });
  t.queue.add(FULL);
  await t.run();
  assert.equal(t.nftlb.farms.get("ns.web.http")?.scheduler, "rr");
  assert.equal(t.events.length, 1);
  assert.match(t.events[0]!, /^Warning ns\/web InvalidServiceConfig: .*scheduler.*did you mean "rr"/);
  await t.stop();
});

test("a farm nftlb refuses: the others still go in, the Service is parked with a Warning until it changes", async () => {
  const t = setup();
  t.cluster.put("ns", "good", "10.96.0.10", ["10.1.0.1"]);
  t.cluster.put("ns", "bad", "10.96.0.11", ["10.1.0.2"]);
  t.nftlb.refuse.add("ns.bad.http");
  t.queue.add(FULL);
  await t.run();
  assert.ok(t.nftlb.farms.has("ns.good.http"));
  assert.ok(!t.nftlb.farms.has("ns.bad.http"));
  assert.equal(t.queue.isParked("ns/bad"), true);
  assert.ok(t.events.some((e) => /ns\/bad NftlbRefusedFarm: .*refused/.test(e)));
  const writes = t.nftlb.writes.length;
  t.queue.add(FULL, { resync: true });
  t.queue.add("ns/bad", { resync: true });
  await t.run(10_000);
  assert.equal(t.nftlb.writes.length, writes, "a parked Service is not retried on resync");
  t.nftlb.refuse.clear();
  t.queue.add("ns/bad");
  await t.run();
  assert.ok(t.nftlb.farms.has("ns.bad.http"), "a change to the Service retries it");
  await t.stop();
});

test("retryable failures back off and converge; nftlb is read again first", async () => {
  const t = setup();
  t.cluster.put("ns", "web", "10.96.0.10", ["10.1.0.1"]);
  t.nftlb.failNext = ["retryable", "retryable"];
  t.queue.add(FULL);
  await t.run();
  assert.equal(t.reconciler.programmed, false);
  assert.equal(t.queue.failures(FULL), 1);
  await t.run(100);
  assert.equal(t.queue.failures(FULL), 2);
  await t.run(200);
  assert.equal(t.reconciler.programmed, true);
  assert.ok(t.nftlb.farms.has("ns.web.http"));
  await t.stop();
});

test("a 401 is fatal: logged loudly, not programmed (readyz false) until nftlb takes the key", async () => {
  const t = setup();
  t.cluster.put("ns", "web", "10.96.0.10", ["10.1.0.1"]);
  t.queue.add(FULL);
  await t.run();
  t.nftlb.failNext = ["fatal"];
  t.cluster.put("ns", "web", "10.96.0.10", ["10.1.0.9"]);
  t.queue.add("ns/web");
  await t.run();
  assert.equal(t.reconciler.programmed, false);
  assert.ok(t.logs.some((l) => /^error nftlb refused the key/.test(l)));
  await t.run(100);
  assert.equal(t.reconciler.programmed, true);
  await t.stop();
});

test("over nftlb's memory limit: the Service adding addresses is refused with a Warning, keeps what it has", async () => {
  // Room for two farm addresses (and a few backends), not three.
  const t = setup({ nftlbMemoryBytes: (estimateMemory(2, 10) + 1) / MEMORY_HEADROOM });
  t.cluster.put("ns", "a", "10.96.0.10", ["10.1.0.1", "10.1.0.2"]);
  t.cluster.put("ns", "b", "10.96.0.11", ["10.1.0.3"]);
  t.queue.add(FULL);
  await t.run();
  t.cluster.put("ns", "c", "10.96.0.12", ["10.1.0.4"]);
  t.queue.add("ns/c");
  await t.run();
  assert.ok(!t.nftlb.farms.has("ns.c.http"));
  assert.ok(
    t.events.some((e) => /ns\/c NftlbCapacityExceeded: .*memory limit/.test(e)),
    t.events.join("\n"),
  );
  assert.ok(t.logs.some((l) => /nftlb capacity: change refused/.test(l)));
  t.cluster.services.delete("ns/a");
  t.queue.add("ns/a");
  await t.run();
  assert.ok(t.nftlb.farms.has("ns.c.http"), "room made by another Service lets it in");
  await t.stop();
});

test("a farm over 4,094 backends is refused whole: the Service keeps exactly what it had", async () => {
  const t = setup();
  t.cluster.put("ns", "web", "10.96.0.10", ["10.1.0.1", "10.1.0.2"]);
  t.queue.add(FULL);
  await t.run();
  const before = structuredClone(t.nftlb.farms.get("ns.web.http"));
  const many = Array.from({ length: 4095 }, (_, i) => `10.2.${i >> 8}.${i & 255}`);
  t.cluster.put("ns", "web", "10.96.0.10", many);
  t.queue.add("ns/web");
  await t.run();
  assert.deepEqual(t.nftlb.farms.get("ns.web.http"), before);
  assert.ok(t.events.some((e) => /ns\/web NftlbCapacityExceeded: .*4095 backends.*at most 4094/.test(e)));
  t.cluster.put("ns", "web", "10.96.0.10", many.slice(0, 4094));
  t.queue.add("ns/web");
  await t.run();
  const marks = (t.nftlb.farms.get("ns.web.http")?.backends ?? [])
    .filter((b) => b.state !== "down")
    .map((b) => b.mark);
  assert.equal(marks.length, 4094);
  assert.equal(new Set(marks).size, 4094, "every backend its own mark");
  assert.ok(!marks.includes("0x001"));
  await t.stop();
});

test("an nftlb restart (sentinel gone) re-programs everything", async () => {
  const t = setup();
  t.cluster.put("ns", "web", "10.96.0.10", ["10.1.0.1"]);
  t.queue.add(FULL);
  await t.run();
  t.nftlb.restart();
  t.reconciler.nftlbRestarted();
  t.queue.add(FULL);
  await t.run();
  assert.ok(t.nftlb.farms.has("ns.web.http"));
  assert.equal(t.nftlb.sentinel, true);
  await t.stop();
});

test("garbage objects in the caches produce no farm and no crash", async () => {
  const t = setup();
  t.cluster.services.set("ns/x", { metadata: null, spec: 42 } as never);
  t.cluster.services.set("ns/y", { spec: { ports: "nope" } } as never);
  t.cluster.put("ns", "web", "10.96.0.10", ["10.1.0.1"]);
  t.queue.add(FULL);
  await t.run();
  assert.deepEqual([...t.nftlb.farms.keys()], ["ns.web.http"]);
  await t.stop();
});

test("a batch plans only its own Services' farms; a full reconcile plans them all", async () => {
  const t = setup();
  t.cluster.put("ns", "web", "10.96.0.10", ["10.1.0.1"]);
  t.cluster.put("ns", "db", "10.96.0.11", ["10.1.0.3"]);
  t.queue.add(FULL);
  await t.run();
  // Both change, but only web's key arrives (db's own event would queue it separately).
  t.cluster.put("ns", "web", "10.96.0.10", ["10.1.0.2"]);
  t.cluster.put("ns", "db", "10.96.0.11", ["10.1.0.4"]);
  t.nftlb.writes.length = 0;
  t.queue.add("ns/web");
  await t.run();
  assert.deepEqual(t.nftlb.writes, ["POST ns.web.http"]);
  assert.deepEqual(backends(t.nftlb.farms.get("ns.db.http")), ["10.1.0.3"]);
  t.queue.add(FULL);
  await t.run();
  assert.deepEqual(backends(t.nftlb.farms.get("ns.db.http")), ["10.1.0.4"]);
  await t.stop();
});

test("an address conflict settles when the winner lets go, even if only the winner's key arrives", async () => {
  const t = setup();
  // Two Services claim one ClusterIP:port; the older (then by name: a) keeps it.
  t.cluster.put("ns", "a", "10.96.0.10", ["10.1.0.1"]);
  t.cluster.put("ns", "b", "10.96.0.10", ["10.1.0.2"]);
  t.queue.add(FULL);
  await t.run();
  const vips = (farm: string) => (t.nftlb.farms.get(farm)?.addresses ?? []).map((a) => a["ip-addr"]);
  assert.deepEqual(vips("ns.a.http"), ["10.96.0.10"]);
  assert.deepEqual(vips("ns.b.http"), []);
  t.cluster.put("ns", "a", "10.96.0.20", ["10.1.0.1"]);
  t.queue.add("ns/a");
  await t.run();
  assert.deepEqual(vips("ns.a.http"), ["10.96.0.20"]);
  assert.deepEqual(vips("ns.b.http"), ["10.96.0.10"], "b gets the address a released");
  await t.stop();
});

test("all endpoints replaced while nftlb refuses the upsert: the farm keeps exactly what it had", async () => {
  const t = setup();
  t.cluster.put("ns", "web", "10.96.0.10", ["10.1.0.1", "10.1.0.2", "10.1.0.3"]);
  t.queue.add(FULL);
  await t.run();
  const before = structuredClone(t.nftlb.farms.get("ns.web.http"));
  t.cluster.put("ns", "web", "10.96.0.10", ["10.1.0.4", "10.1.0.5", "10.1.0.6"]);
  t.nftlb.refuse.add("ns.web.http");
  t.queue.add("ns/web");
  await t.run();
  assert.deepEqual(t.nftlb.farms.get("ns.web.http"), before, "no removal ran after the refused upsert");
  assert.ok(t.events.some((e) => /ns\/web NftlbRefusedFarm: .*left as they were/.test(e)));
  assert.ok(
    !t.nftlb.writes.some((w) => w.startsWith("DELETE")),
    `no DELETE after a refused POST: ${t.nftlb.writes.join(", ")}`,
  );
  await t.stop();
});

test("UDP conntrack is cleaned for the farms a pass wrote, not for every UDP farm of the node", async () => {
  const listed: string[][] = [];
  const t = setup({
    conntrack: overFrontends((frontends) => {
      listed.push(frontends.map((f) => `${f.ip}:${f.port}`));
      return Promise.resolve({ ok: true, deleted: 0, skipped: 0 });
    }),
  });
  const putDns = (backends: string[]) => {
    t.cluster.put("ns", "dns", "10.96.0.53", backends);
    t.cluster.services.get("ns/dns")!.spec.ports[0]!.protocol = "UDP";
    t.cluster.slices.get("ns/dns")!.ports[0]!.protocol = "UDP";
  };
  putDns(["10.1.0.53"]);
  t.cluster.put("ns", "web", "10.96.0.10", ["10.1.0.1"]);
  t.queue.add(FULL);
  await t.run();
  assert.deepEqual(listed, [["10.96.0.53:80"]], "the full write wrote the UDP farm");
  t.cluster.put("ns", "web", "10.96.0.10", ["10.1.0.1", "10.1.0.2"]);
  t.queue.add("ns/web");
  await t.run();
  assert.ok(t.nftlb.writes.length >= 2, "web was written");
  assert.equal(listed.length, 1, "a change to a TCP Service lists no UDP flows");
  putDns(["10.1.0.54"]);
  t.queue.add("ns/dns");
  await t.run();
  assert.deepEqual(listed.at(-1), ["10.96.0.53:80"]);
  await t.stop();
});

test("a full reconcile re-reads nftlb and repairs what changed behind the syncer's back", async () => {
  const t = setup();
  t.cluster.put("ns", "web", "10.96.0.10", ["10.1.0.1", "10.1.0.2"]);
  t.cluster.put("ns", "db", "10.96.0.11", ["10.1.0.3"]);
  t.queue.add(FULL);
  await t.run();
  const before = structuredClone(t.nftlb.farms.get("ns.web.http")!);
  const written = t.nftlb.writes.length;
  // By hand, in nftlb itself: a backend deleted, the scheduler changed, a whole farm gone.
  const web = t.nftlb.farms.get("ns.web.http")!;
  t.nftlb.farms.set("ns.web.http", { ...web, scheduler: "hash", backends: web.backends.slice(1) });
  t.nftlb.farms.delete("ns.db.http");
  t.queue.add(FULL, { resync: true });
  await t.run();
  const sorted = (f: Farm | undefined) =>
    f && { ...f, backends: f.backends.toSorted((a, b) => (a.name < b.name ? -1 : 1)) };
  assert.deepEqual(
    sorted(t.nftlb.farms.get("ns.web.http")),
    sorted(before),
    "the farm is as the syncer wrote it",
  );
  assert.ok(t.nftlb.farms.has("ns.db.http"), "the deleted farm is back");
  assert.equal(t.nftlb.writes.length, written + 1, "one POST repairs both");
  t.queue.add(FULL, { resync: true });
  await t.run();
  assert.equal(t.nftlb.writes.length, written + 1, "a resync with no drift writes nothing");
  await t.stop();
});

test("what nftlb holds is reported after every pass: marked farms, all backends and addresses, as they change", async () => {
  const registry = new Registry();
  const t = setup({ metrics: createSyncerMetrics(registry) });
  const gauge = async (name: string) => (await registry.getSingleMetric(name)?.get())?.values[0]?.value;
  const handmade = {
    ...(structuredClone(t.nftlb.farms.get("x")) as Farm),
    name: "handmade",
    addresses: [],
    backends: [],
  };
  t.nftlb.farms.set("handmade", handmade);
  t.cluster.put("ns", "web", "10.96.0.10", ["10.1.0.1", "10.1.0.2"]);
  t.queue.add(FULL);
  await t.run();
  assert.equal(await gauge("kube_nftlb_farms_programmed"), 1, "the hand-made farm is not counted");
  assert.equal(await gauge("kube_nftlb_backends_programmed"), 2);
  t.cluster.put("ns", "db", "10.96.0.11", ["10.1.0.3"]);
  t.queue.add("ns/db");
  await t.run();
  assert.equal(await gauge("kube_nftlb_farms_programmed"), 2, "a Service added is counted in its own pass");
  assert.equal(await gauge("kube_nftlb_backends_programmed"), 3);
  t.cluster.services.delete("ns/web");
  t.queue.add("ns/web");
  await t.run();
  assert.equal(await gauge("kube_nftlb_farms_programmed"), 1, "a Service deleted is gone from the count");
  assert.equal(await gauge("kube_nftlb_backends_programmed"), 1);
  await t.stop();
});
