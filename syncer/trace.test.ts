import { test } from "node:test";
import assert from "node:assert/strict";
import { tracedSend, type TraceEvent } from "./trace.ts";
import type { Send } from "../nftlb/transport.ts";

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
