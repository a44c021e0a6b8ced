// What the webhook sends back and writes down stays small whatever comes in (supertest, a real
// socket): problems are listed up to a cap and counted after it, quoted input is cut, log fields
// are cut, and the metrics' path label has three values whatever the path.
import { test } from "node:test";
import assert from "node:assert/strict";
import request from "supertest";
import { createLogger, createRegistry } from "../runtime/index.ts";
import { createApp } from "../webhook/app.ts";
import { webhookMetrics } from "../webhook/metrics.ts";
import {
  admissionReview,
  key,
  request as admission,
  service,
} from "../webhook/review-fixtures.test-helpers.ts";
import type { AdmissionReviewOut } from "../webhook/review.ts";

const lines: Record<string, unknown>[] = [];
const registry = createRegistry({ defaultMetrics: false });
const app = createApp({
  log: createLogger({
    name: "webhook",
    destination: { write: (s: string) => void lines.push(JSON.parse(s) as Record<string, unknown>) },
  }),
  metrics: webhookMetrics(registry),
  options: () => ({}),
});

async function post(path: string, body: object | string) {
  const res = await request(app).post(path).set("content-type", "application/json").send(body);
  return { status: res.status, bytes: res.text.length, review: res.body as AdmissionReviewOut };
}

test("3,000 unknown keys: the denial lists ten, counts the rest, and fits in a few KiB", async () => {
  const annotations: Record<string, string> = {};
  for (let i = 0; i < 3000; i++) annotations[key(`unknown-${i}`)] = "x";
  const r = await post("/validate", admissionReview(admission(service({ annotations }), { uid: "many" })));
  assert.equal(r.review.response.status?.code, 403);
  const message = r.review.response.status?.message ?? "";
  assert.match(message, /has 3000 invalid kube-nftlb settings: \(1\) /);
  assert.match(message, /\(10\) [^(]*… and 2990 more$/);
  assert.doesNotMatch(message, /\(11\)/);
  assert.ok(r.bytes < 8 * 1024, `an answer of ${r.bytes} bytes`);
});

test("100,000 unknown keys: refused before parsing, in a small answer", async () => {
  const annotations: Record<string, string> = {};
  for (let i = 0; i < 100_000; i++) annotations[key(`unknown-${i}`)] = "x";
  const r = await post("/validate", admissionReview(admission(service({ annotations }), { uid: "flood" })));
  assert.equal(r.review.response.status?.code, 413);
  assert.match(r.review.response.status?.message ?? "", /more than 100000 JSON values/);
  assert.ok(r.bytes < 1024, `an answer of ${r.bytes} bytes`);
});

test("annotations past Kubernetes' 256 KiB: refused unjudged in a small answer", async () => {
  const annotations: Record<string, string> = {};
  for (let i = 0; i < 5000; i++) annotations[key(`unknown-${i}`)] = "v".repeat(50);
  const r = await post("/validate", admissionReview(admission(service({ annotations }), { uid: "big" })));
  assert.equal(r.review.response.uid, "big");
  assert.equal(r.review.response.status?.code, 400);
  assert.match(r.review.response.status?.message ?? "", /metadata\.annotations: too long: .*262144 bytes/);
  assert.ok(r.bytes < 1024, `an answer of ${r.bytes} bytes`);
});

test("a 200 KB bad value is quoted cut short, not echoed whole", async () => {
  const annotations = { [key("mode")]: "s".repeat(200_000) };
  const r = await post("/validate", admissionReview(admission(service({ annotations }))));
  assert.equal(r.review.response.status?.code, 403);
  assert.ok(r.bytes < 2048, `an answer of ${r.bytes} bytes`);
});

test("warnings are capped: ten, then one saying how many more", async () => {
  const stored: Record<string, string> = {};
  for (let i = 0; i < 30; i++) stored[key(`old-${i}`)] = "x";
  const old = service({ annotations: stored });
  const now = service({ annotations: stored, labels: { changed: "yes" } });
  const r = await post("/validate", admissionReview(admission(now, { operation: "UPDATE", oldObject: old })));
  assert.equal(r.review.response.allowed, true);
  const warnings = r.review.response.warnings ?? [];
  assert.equal(warnings.length, 11);
  assert.equal(warnings[10], "… and 20 more warnings");
});

test("uid, name and namespace are cut in the log line", async () => {
  const long = "n".repeat(10_000);
  const object = service({ name: long, namespace: long, annotations: { [key("mode")]: "bad" } });
  await post("/validate", admissionReview(admission(object, { uid: `u${long}` })));
  const line = lines.find((l) => typeof l.uid === "string" && l.uid.startsWith("unnn"));
  assert.ok(line, "no log line for the request");
  for (const field of ["uid", "name", "namespace"]) {
    const v = String(line[field]);
    assert.ok(v.length < 300, `${field}: ${v.length} characters logged`);
    assert.match(v, /… \(1000[01] chars\)$/, field);
  }
});

test("the path label is /validate, /mutate or other, whatever the path", async () => {
  for (let i = 0; i < 5; i++) {
    const res = await request(app).post(`/random-${i}`).set("content-type", "application/json").send("{}");
    assert.equal(res.status, 404);
    assert.equal((res.body as AdmissionReviewOut).response.status?.code, 404);
  }
  await request(app).get("/validate");
  const metrics = await registry.metrics();
  assert.match(metrics, /kube_nftlb_webhook_admission_requests_total\{path="other",verdict="errored"\} 5/);
  assert.match(
    metrics,
    /kube_nftlb_webhook_admission_requests_total\{path="\/validate",verdict="errored"\} \d/,
  );
  for (const [, path] of metrics.matchAll(/path="([^"]*)"/g))
    assert.ok(["/validate", "/mutate", "other"].includes(path!), `a path label ${path}`);
});
