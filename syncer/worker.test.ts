import { test } from "node:test";
import assert from "node:assert/strict";
import { Registry } from "prom-client";
import { FULL, Reconciler } from "./reconcile.ts";
import { runWorker } from "./worker.ts";
import { KeyQueue } from "./queue.ts";
import { FakeNftlb } from "./fake-nftlb.ts";
import { createSyncerMetrics } from "./metrics.ts";
import type { Outcome, Outcomes } from "./outcome.ts";
import { FakeTimers, settle } from "../kube/fake-timers.ts";
import { Cluster, setup } from "./reconcile.test-helpers.ts";

const quiet = { info: () => {}, warn: () => {}, error: () => {} };

test("reconcile reports what became of each key and leaves the queue alone", async () => {
  const cluster = new Cluster();
  cluster.put("ns", "web", "10.96.0.10", ["10.1.0.1"]);
  cluster.put("ns", "bad", "10.96.0.11", ["10.1.0.2"]);
  const nftlb = new FakeNftlb();
  nftlb.refuse.add("ns.bad.http");
  const events = { record: () => Promise.resolve() };
  const reconciler = new Reconciler({ nftlb, view: cluster, events, log: quiet });

  const first = await reconciler.sync([FULL]);
  assert.deepEqual(first.get(FULL), { kind: "done" });
  assert.deepEqual(first.get("ns/bad")?.kind, "parked", "nftlb refused its farms: parked until it changes");
  assert.match((first.get("ns/bad") as { reason: string }).reason, /refused/);
  assert.ok(nftlb.farms.has("ns.web.http"));

  nftlb.failNext = ["retryable"];
  const failed = await reconciler.sync(["ns/web"]);
  assert.equal(failed.get("ns/web")?.kind, "retry", "a retryable failure asks for a retry");
});

/** A reconciler that answers each batch with the outcomes scripted for it. */
function scripted(answers: ((batch: readonly string[]) => Map<string, Outcome>)[]) {
  const batches: string[][] = [];
  return {
    batches,
    sync: (batch: readonly string[]): Promise<Outcomes> => {
      batches.push([...batch]);
      return Promise.resolve((answers.shift() ?? (() => new Map()))(batch));
    },
  };
}

test("the worker alone applies the queue's policy: backoff, park, run again, forget", async () => {
  const timers = new FakeTimers();
  const queue = new KeyQueue({ timers, backoffBaseMs: 100, backoffCapMs: 1_000 });
  const r = scripted([
    () =>
      new Map<string, Outcome>([
        ["a/retry", { kind: "retry", reason: "nftlb timed out" }],
        ["a/parked", { kind: "parked", reason: "refused" }],
        ["a/again", { kind: "again" }],
      ]),
    () => new Map(),
    () => new Map<string, Outcome>([["a/retry", { kind: "done" }]]),
  ]);
  const worker = runWorker(queue, r);
  for (const k of ["a/retry", "a/parked", "a/again", "a/done"]) queue.add(k);
  await timers.advance(0);
  await settle();
  assert.equal(queue.failures("a/retry"), 1, "retry: counted toward the key's backoff");
  assert.equal(queue.retrying, 1);
  assert.equal(queue.isParked("a/parked"), true, "parked: held until the object changes");
  await timers.advance(0);
  assert.deepEqual(r.batches[1], ["a/again"], "again: back at once, not after a backoff");
  queue.add("a/parked", { resync: true });
  await timers.advance(99);
  assert.equal(r.batches.length, 2, "neither the backoff nor a resync brings a key back early");
  await timers.advance(1);
  assert.deepEqual(r.batches[2], ["a/retry"], "the retry comes after its backoff");
  await timers.advance(0);
  assert.equal(queue.failures("a/retry"), 0, "done: its next failure starts from the base again");
  await queue.shutDown();
  await worker;
});

test("a reconcile that throws is counted, logged and retried with backoff; the worker goes on", async () => {
  const registry = new Registry();
  const metrics = createSyncerMetrics(registry);
  const errors: string[] = [];
  const t = setup({ worker: { metrics, log: { error: (_o, m) => errors.push(m) } } });
  t.cluster.put("ns", "web", "10.96.0.10", ["10.1.0.1"]);
  t.cluster.put("ns", "bad", "10.96.0.11", ["10.1.0.2"]);
  // A bug in the nftlb client (an injected dependency): it throws instead of returning an error.
  const upsert = t.nftlb.upsertFarms.bind(t.nftlb);
  let broken = true;
  t.nftlb.upsertFarms = (farms) => {
    if (broken && farms.some((f) => f.name === "ns.bad.http"))
      throw new TypeError("cannot read properties of undefined");
    return upsert(farms);
  };
  t.queue.add("ns/bad");
  await t.run();
  const thrown = async () =>
    (await registry.getSingleMetric("kube_nftlb_sync_errors_total")?.get())?.values[0]?.value;
  assert.equal(await thrown(), 1, "counted");
  assert.deepEqual(errors, ["reconcile threw; retrying the batch with backoff"], "logged");
  assert.equal(t.queue.failures("ns/bad"), 1, "in backoff");

  t.queue.add("ns/web");
  await t.run();
  assert.ok(t.nftlb.farms.has("ns.web.http"), "the worker keeps processing other keys");

  broken = false;
  await t.run(100);
  assert.ok(t.nftlb.farms.has("ns.bad.http"), "retried after its backoff, and programmed");
  assert.equal(t.queue.failures("ns/bad"), 0);
  await t.stop();
});

test("one Service whose farms cannot be computed waits alone: a full reconcile goes on for the others", async () => {
  const registry = new Registry();
  const metrics = createSyncerMetrics(registry);
  const t = setup({ metrics });
  t.cluster.put("ns", "web", "10.96.0.10", ["10.1.0.1"]);
  t.cluster.put("ns", "bad", "10.96.0.11", ["10.1.0.2"]);
  t.queue.add(FULL);
  await t.run();
  const bad = structuredClone(t.nftlb.farms.get("ns.bad.http"));
  assert.ok(bad);
  const desiredFor = t.cluster.desiredFor;
  let broken = true;
  t.cluster.desiredFor = (key) => {
    if (broken && key === "ns/bad") throw new RangeError("invalid array length");
    return desiredFor(key);
  };
  t.cluster.put("ns", "web", "10.96.0.10", ["10.1.0.1", "10.1.0.3"]);
  t.cluster.put("ns", "bad", "10.96.0.11", ["10.1.0.4"]);
  t.queue.add(FULL, { resync: true });
  await t.run();
  assert.equal(t.nftlb.farms.get("ns.web.http")?.backends.length, 2, "the others are programmed");
  assert.deepEqual(t.nftlb.farms.get("ns.bad.http"), bad, "its farms are left as they are, not collected");
  assert.ok(
    t.logs.some((l) => /^error computing the Service's farms threw/.test(l)),
    "logged",
  );
  const thrown = await registry.getSingleMetric("kube_nftlb_sync_errors_total")?.get();
  assert.equal(thrown?.values[0]?.value, 1, "counted");
  assert.equal(t.queue.failures("ns/bad"), 1, "retried with backoff");

  broken = false;
  await t.run(100);
  assert.deepEqual(
    t.nftlb.farms
      .get("ns.bad.http")
      ?.backends.filter((b) => b.state !== "down")
      .map((b) => b["ip-addr"]),
    ["10.1.0.4"],
    "once it can be computed, it is programmed",
  );
  await t.stop();
});

test("the worker says when it waits for work and when it has some (the heap trim's quiet spells)", async () => {
  const timers = new FakeTimers();
  const queue = new KeyQueue({ timers });
  const said: string[] = [];
  const r = scripted([
    (batch) => {
      said.push(`sync ${batch.join()}`);
      return new Map();
    },
  ]);
  const worker = runWorker(queue, r, {
    quiet: { idle: () => void said.push("idle"), busy: () => void said.push("busy") },
  });
  await settle();
  assert.deepEqual(said, ["idle"], "waiting before any work");
  queue.add("a/b");
  await timers.advance(0);
  await settle();
  assert.deepEqual(said, ["idle", "busy", "sync a/b", "idle"]);
  await queue.shutDown();
  await worker;
  assert.deepEqual(said.at(-1), "busy", "woken by the shutdown");
});
