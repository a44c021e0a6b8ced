// The tally's series equal stock prom-client metrics fed the same reviews: text and JSON exposition,
// both content types, after a reset, values on and between every bucket bound.
import { test } from "node:test";
import assert from "node:assert/strict";
import { Counter, Histogram, Registry, type RegistryContentType } from "prom-client";
import { DURATION_BUCKETS, PATHS, reviewMetrics } from "./review-tally.ts";
import { VERDICTS } from "./review.ts";

function pair(contentType?: typeof Registry.OPENMETRICS_CONTENT_TYPE) {
  const stock = new Registry<RegistryContentType>();
  const ours = new Registry<RegistryContentType>();
  if (contentType) for (const r of [stock, ours]) r.setContentType(contentType);
  const requests = new Counter({
    name: "kube_nftlb_webhook_admission_requests_total",
    help: "Admission reviews answered, by path (/validate, /mutate, other) and verdict (allowed, patched, denied, errored).",
    labelNames: ["path", "verdict"],
    registers: [stock],
  });
  const duration = new Histogram({
    name: "kube_nftlb_webhook_admission_duration_seconds",
    help: "Time from the request's arrival to the answer, body parsing included.",
    labelNames: ["path", "verdict"],
    buckets: DURATION_BUCKETS,
    registers: [stock],
  });
  const tally = reviewMetrics([ours]);
  const record = (path: (typeof PATHS)[number], verdict: (typeof VERDICTS)[number], seconds: number) => {
    requests.inc({ path, verdict });
    duration.observe({ path, verdict }, seconds);
    tally.record(path, verdict, seconds);
  };
  return { stock, ours, record };
}

// Each bound, just above it, below the first, past the last; series in a scrambled first-seen order.
const SECONDS = [0, 0.0001, ...DURATION_BUCKETS.flatMap((b) => [b, b * 1.0001]), 7];
function feed(record: ReturnType<typeof pair>["record"], n: number, seed: number) {
  let x = seed;
  const next = () => (x = (x * 1103515245 + 12345) % 2 ** 31);
  for (let i = 0; i < n; i++)
    record(
      PATHS[next() % PATHS.length]!,
      VERDICTS[next() % VERDICTS.length]!,
      SECONDS[next() % SECONDS.length]!,
    );
}

for (const contentType of [undefined, Registry.OPENMETRICS_CONTENT_TYPE]) {
  test(`the tally's exposition equals prom-client's own metrics (${contentType ?? "Prometheus text"})`, async () => {
    const { stock, ours, record } = pair(contentType);
    assert.equal(await ours.metrics(), await stock.metrics(), "before any review");
    feed(record, 1, 1);
    assert.equal(await ours.metrics(), await stock.metrics(), "one series");
    feed(record, 2_000, 7);
    assert.equal(await ours.metrics(), await stock.metrics());
    // Scraped again: the counter is refilled from the tally, not added to.
    assert.equal(await ours.metrics(), await stock.metrics(), "scraped twice");
    assert.deepEqual(await ours.getMetricsAsJSON(), await stock.getMetricsAsJSON());
    stock.resetMetrics();
    ours.resetMetrics();
    assert.equal(await ours.metrics(), await stock.metrics(), "after a reset");
    feed(record, 300, 99);
    assert.equal(await ours.metrics(), await stock.metrics(), "after a reset and more reviews");
  });
}
