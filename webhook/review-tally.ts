// The reviews' series, counted in plain arrays and handed to prom-client when scraped. Through
// prom-client's own inc() and observe(), a review paid for a labels object's validation, a string
// hash of its labels and a lookup per metric: ~1.4 µs of every review under load (bench/webhook.ts
// --profile), though the labels take one of a dozen values. prom-client still names, helps, types
// and formats the series: the counter is refilled from the tally before each scrape (collect), and
// the histogram's values are built as prom-client builds them (review-tally.test.ts holds the
// two equal to stock metrics fed the same reviews).
import { Counter, Histogram, type Registry, type RegistryContentType } from "prom-client";
import { VERDICTS, type Verdict } from "./review.ts";

export const PATHS = ["/validate", "/mutate", "other"] as const;
export type PathLabel = (typeof PATHS)[number];

export const DURATION_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5];

type Labels = { path: PathLabel; verdict: Verdict };
const SERIES: Labels[] = PATHS.flatMap((path) => VERDICTS.map((verdict) => ({ path, verdict })));
const INDEX = Object.fromEntries(
  PATHS.map((path, p) => [path, Object.fromEntries(VERDICTS.map((v, i) => [v, p * VERDICTS.length + i]))]),
) as Record<PathLabel, Record<Verdict, number>>;

class Tally {
  readonly counts = new Float64Array(SERIES.length);
  readonly sums = new Float64Array(SERIES.length);
  /** Per series, the observations in each bucket (not cumulative), the last past every bound. */
  readonly buckets = new Float64Array(SERIES.length * (DURATION_BUCKETS.length + 1));
  /** Series in the order they were first seen, as prom-client lists them. */
  readonly seen: number[] = [];

  record(series: number, seconds: number): void {
    if (this.counts[series] === 0) this.seen.push(series);
    this.counts[series]!++;
    this.sums[series]! += seconds;
    let b = 0;
    while (b < DURATION_BUCKETS.length && seconds > DURATION_BUCKETS[b]!) b++;
    this.buckets[series * (DURATION_BUCKETS.length + 1) + b]!++;
  }

  reset(): void {
    this.counts.fill(0);
    this.sums.fill(0);
    this.buckets.fill(0);
    this.seen.length = 0;
  }
}

interface Value {
  labels: Record<string, string | number>;
  sharedLabels: Labels;
  value: number;
  metricName: string;
  exemplar: null | undefined;
}

const DURATION = {
  name: "kube_nftlb_webhook_admission_duration_seconds",
  help: "Time from the request's arrival to the answer, body parsing included.",
};

class Durations extends Histogram<"path" | "verdict"> {
  // Not #private: prom-client's constructor calls reset() before this class has set its fields.
  readonly tally: Tally | undefined;

  constructor(tally: Tally, registers: Registry<RegistryContentType>[]) {
    super({
      ...DURATION,
      labelNames: ["path", "verdict"],
      buckets: DURATION_BUCKETS,
      registers,
    });
    this.tally = tally;
  }

  /** What Histogram.getForPromString returns (prom-client 15), from the tally. */
  getForPromString() {
    const { counts, sums, buckets, seen } = this.tally!;
    const values: Value[] = [];
    const pair = (labels: Value["labels"], value: number, suffix: string, series: number, bucket: boolean) =>
      values.push({
        labels,
        sharedLabels: SERIES[series]!,
        value,
        metricName: `${DURATION.name}_${suffix}`,
        exemplar: bucket ? null : undefined,
      });
    for (const s of seen) {
      let cumulative = 0;
      DURATION_BUCKETS.forEach((le, b) => {
        cumulative += buckets[s * (DURATION_BUCKETS.length + 1) + b]!;
        pair({ le }, cumulative, "bucket", s, true);
      });
      pair({ le: "+Inf" }, counts[s]!, "bucket", s, true);
      pair({}, sums[s]!, "sum", s, false);
      pair({}, counts[s]!, "count", s, false);
    }
    return Promise.resolve({ ...DURATION, type: "histogram", values, aggregator: "sum" });
  }

  override reset(): void {
    super.reset();
    this.tally?.reset();
  }
}

export interface ReviewMetrics {
  requests: Counter<"path" | "verdict">;
  duration: Histogram<"path" | "verdict">;
  /** One review answered: counted and timed. */
  record(path: PathLabel, verdict: Verdict, seconds: number): void;
}

export function reviewMetrics(registers: Registry<RegistryContentType>[]): ReviewMetrics {
  const tally = new Tally();
  const requests = new Counter({
    name: "kube_nftlb_webhook_admission_requests_total",
    help: "Admission reviews answered, by path (/validate, /mutate, other) and verdict (allowed, patched, denied, errored).",
    labelNames: ["path", "verdict"],
    registers,
    // Refilled whole from the tally on every scrape: exact whatever was scraped or reset before.
    collect() {
      this.reset();
      for (const s of tally.seen) this.inc(SERIES[s]!, tally.counts[s]);
    },
  });
  return {
    requests,
    duration: new Durations(tally, registers),
    record: (path, verdict, seconds) => tally.record(INDEX[path][verdict], seconds),
  };
}
