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
