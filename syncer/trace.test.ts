import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { tracedSend, traceToFile, type TraceEvent } from "./trace.ts";
import type { Send } from "../nftlb/transport.ts";
import { setup } from "./reconcile.test-helpers.ts";

test("tracedSend reports each request before it is sent and after it is answered, result untouched", async () => {
  const events: TraceEvent[] = [];
  const sent: string[] = [];
  const send: Send = (method, path) => {
    sent.push(`${method} ${path}`);
    events.push({ stage: "synced", at: performance.now() }); // marks the moment the transport ran
    return Promise.resolve(
      method === "GET"
        ? { ok: true, answer: { status: 200, body: "{}" } }
        : { ok: false, reason: "network", message: "ECONNREFUSED" },
    );
  };
  const traced = tracedSend(send, (e) => events.push(e));
  assert.deepEqual(await traced("GET", "/farms/x"), { ok: true, answer: { status: 200, body: "{}" } });
  assert.deepEqual(await traced("POST", "/farms", "{}"), {
    ok: false,
    reason: "network",
    message: "ECONNREFUSED",
  });
  assert.deepEqual(sent, ["GET /farms/x", "POST /farms"]);
  assert.deepEqual(
    events.map((e) => `${e.stage} ${e.method ?? ""}`),
    ["request GET", "synced ", "answered GET", "request POST", "synced ", "answered POST"],
  );
  assert.ok(
    events.every((e, i) => i === 0 || e.at >= events[i - 1]!.at),
    "timestamps in order",
  );
});

test("traceToFile appends one JSON line per event, on the epoch clock", async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), "trace-"));
  const file = path.join(dir, "trace.jsonl");
  try {
    const sink = traceToFile(file);
    const at = performance.now();
    sink.trace({ stage: "queued", at, keys: ["ns/a"] });
    sink.trace({ stage: "request", at: at + 1.5, method: "POST", path: "/farms" });
    await sink.close();
    const lines = readFileSync(file, "utf8")
      .trimEnd()
      .split("\n")
      .map((l) => JSON.parse(l) as TraceEvent);
    // Epoch milliseconds are large doubles: equal to the event's `at` within a microsecond (+ 0: no -0).
    assert.deepEqual(
      lines.map((e) => ({ ...e, at: Math.round((e.at - performance.timeOrigin - at) * 1000) + 0 })),
      [
        { stage: "queued", at: 0, keys: ["ns/a"] },
        { stage: "request", at: 1500, method: "POST", path: "/farms" },
      ],
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("a pass that failed says so in its synced event; the retry that succeeds does not", async () => {
  const events: TraceEvent[] = [];
  const t = setup({ trace: (e) => events.push(e) });
  t.cluster.put("ns", "web", "10.96.0.10", ["10.1.0.1"]);
  t.nftlb.failNext = ["retryable"];
  t.queue.add("ns/web");
  await t.run();
  await t.run(1_000);
  const synced = events.filter((e) => e.stage === "synced").map((e) => e.failed === true);
  assert.deepEqual(synced, [true, false]);
  assert.ok(t.nftlb.farms.has("ns.web.http"), "programmed by the retry");
  await t.stop();
});
