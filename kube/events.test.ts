import { test } from "node:test";
import assert from "node:assert/strict";
import { EventRecorder, type CoreEvent, type EventSink } from "./events.ts";
import { FakeTimers } from "./fake-timers.ts";

function fakeSink() {
  const created: CoreEvent[] = [];
  const bumps: { name: string; count: number }[] = [];
  const expired = new Set<string>();
  let failNext = 0;
  const sink: EventSink = {
    create(_ns, ev) {
      if (failNext > 0) {
        failNext--;
        return Promise.reject(new Error("Internal Server Error"));
      }
      created.push(ev);
      return Promise.resolve({ name: `ev${created.length}` });
    },
    bumpCount(_ns, name, count) {
      if (expired.has(name)) return Promise.resolve(false);
      bumps.push({ name, count });
      return Promise.resolve(true);
    },
  };
  return { sink, created, bumps, expired, failSoon: (n: number) => (failNext = n) };
}

const svc = { kind: "Service", apiVersion: "v1", namespace: "ns", name: "web", uid: "u1" };

function setup() {
  const timers = new FakeTimers();
  const s = fakeSink();
  const warned: string[] = [];
  const rec = new EventRecorder({
    sink: s.sink,
    component: "kube-nftlb-syncer",
    host: "node-1",
    timers,
    repeatEveryMs: 60_000,
    log: { warn: (_o, m) => warned.push(m) },
  });
  return { timers, rec, warned, ...s };
}

test("the same warning on every reconcile is posted once, then only its count is bumped", async () => {
  const { rec, created, bumps, timers } = setup();
  for (let i = 0; i < 50; i++) await rec.record(svc, "Warning", "InvalidAnnotation", "bad scheduler");
  assert.equal(created.length, 1);
  assert.equal(created[0]?.type, "Warning");
  assert.equal(created[0]?.involvedObject.name, "web");
  assert.equal(created[0]?.source.host, "node-1");
  assert.equal(rec.stats.suppressed, 49);
  assert.deepEqual(bumps, []);
  await timers.advance(60_000);
  await rec.record(svc, "Warning", "InvalidAnnotation", "bad scheduler");
  assert.deepEqual(bumps, [{ name: "ev1", count: 51 }]);
});

test("a different message, reason or object is a different event", async () => {
  const { rec, created } = setup();
  await rec.record(svc, "Warning", "InvalidAnnotation", "bad scheduler");
  await rec.record(svc, "Warning", "InvalidAnnotation", "bad mode");
  await rec.record(svc, "Warning", "FarmRefused", "bad mode");
  await rec.record({ ...svc, name: "db" }, "Warning", "FarmRefused", "bad mode");
  assert.equal(created.length, 4);
});

test("an expired event is created anew; forget starts over", async () => {
  const { rec, created, expired, timers } = setup();
  await rec.record(svc, "Warning", "R", "m");
  expired.add("ev1");
  await timers.advance(60_000);
  await rec.record(svc, "Warning", "R", "m");
  assert.equal(created.length, 2);
  rec.forget(svc);
  await rec.record(svc, "Warning", "R", "m");
  assert.equal(created.length, 3);
});

test("API failures are logged, never thrown", async () => {
  const { rec, warned, failSoon, created } = setup();
  failSoon(1);
  await rec.record(svc, "Warning", "R", "m");
  assert.equal(rec.stats.failed, 1);
  assert.deepEqual(warned, ["cannot post Event"]);
  assert.equal(created.length, 0);
});

test("garbage input: huge messages are cut to the API's 1 KiB, empty strings still post", async () => {
  const { rec, created } = setup();
  await rec.record(svc, "Warning", "R", "x".repeat(10_000));
  await rec.record({ kind: "Service", namespace: "", name: "" }, "Warning", "", "");
  assert.equal(created[0]?.message.length, 1024);
  assert.equal(created.length, 2);
});

test("memory is bounded: the oldest remembered events are forgotten", async () => {
  const timers = new FakeTimers();
  const s = fakeSink();
  const rec = new EventRecorder({ sink: s.sink, component: "c", timers, maxRemembered: 3 });
  for (const m of ["a", "b", "c", "d"]) await rec.record(svc, "Warning", "R", m);
  await rec.record(svc, "Warning", "R", "a");
  assert.equal(s.created.length, 5, "a was forgotten, so it is posted again");
});

test("thousands of distinct events at once: at most a few API calls in flight, the excess dropped and counted", async () => {
  let inFlight = 0;
  let most = 0;
  const release: (() => void)[] = [];
  const sink: EventSink = {
    create: async () => {
      inFlight++;
      most = Math.max(most, inFlight);
      await new Promise<void>((r) => release.push(r));
      inFlight--;
      return { name: "e" };
    },
    bumpCount: () => Promise.resolve(true),
  };
  const rec = new EventRecorder({ sink, component: "test", maxInFlight: 3, maxBacklog: 10 });
  const done = Array.from({ length: 50 }, (_, i) =>
    rec.record({ kind: "Service", namespace: "ns", name: `s${i}` }, "Warning", "Full", "no room"),
  );
  // Let the first calls start, then release them one by one until all are done.
  while (rec.stats.posted + rec.stats.dropped < 50) {
    await new Promise((r) => setImmediate(r));
    release.shift()?.();
  }
  await Promise.all(done);
  assert.equal(most, 3);
  assert.equal(rec.stats.posted, 13, "3 in flight + 10 waiting");
  assert.equal(rec.stats.dropped, 37);
});
