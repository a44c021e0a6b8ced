// Where one change's latency goes, from the syncer's own stage timestamps (syncer/trace.ts):
// API write → watch event delivered (key queued) → batch handed out → planned → POST answered →
// read-back answered → the benchmark saw the verified write. Printed as medians per size.
import type { TraceEvent } from "../../syncer/trace.ts";

export interface Breakdown {
  watch: number;
  queue: number;
  plan: number;
  /** Planned → POST sent: kube-nftlb's node rules when they change before the write. */
  prePost: number;
  post: number;
  readBack: number;
  /** Whatever the stages above do not cover (e.g. the bench noticing the write). */
  rest: number;
  total: number;
  requests: number;
}

/** The stages of the first pass that handled `key` after `t0`, the API write; `end`: the write seen. */
export function attribute(events: readonly TraceEvent[], key: string, t0: number, end: number): Breakdown {
  const after = (at: number, ok: (e: TraceEvent) => boolean) => events.find((e) => e.at >= at && ok(e));
  const has = (e: TraceEvent) => e.keys?.includes(key) === true;
  const queued = after(t0, (e) => e.stage === "queued" && has(e));
  const dequeued = queued && after(queued.at, (e) => e.stage === "dequeued" && has(e));
  const planned = dequeued && after(dequeued.at, (e) => e.stage === "planned");
  const posted = planned && after(planned.at, (e) => e.stage === "request" && e.method === "POST");
  const answered = posted && after(posted.at, (e) => e.stage === "answered" && e.method === "POST");
  let readBack = 0;
  let open: number | undefined;
  for (const e of events) {
    if (answered === undefined || e.at < answered.at || e.at > end || e.method !== "GET") continue;
    if (e.stage === "request") open = e.at;
    else if (e.stage === "answered" && open !== undefined) readBack += e.at - open;
  }
  const span = (a?: TraceEvent, b?: TraceEvent) => (a && b ? b.at - a.at : NaN);
  const b = {
    watch: queued ? queued.at - t0 : NaN,
    queue: span(queued, dequeued),
    plan: span(dequeued, planned),
    prePost: span(planned, posted),
    post: span(posted, answered),
    readBack,
    total: end - t0,
    requests: events.filter((e) => e.stage === "request" && e.at >= t0 && e.at <= end).length,
  };
  return { ...b, rest: b.total - b.watch - b.queue - b.plan - b.prePost - b.post - b.readBack };
}

/** The first POST sent after `from` and its answer (undefined when there was none). */
export function firstPost(
  events: readonly TraceEvent[],
  from: number,
): { sent: TraceEvent; answered: TraceEvent } | undefined {
  const sent = events.find((e) => e.at >= from && e.stage === "request" && e.method === "POST");
  const answered =
    sent && events.find((e) => e.at >= sent.at && e.stage === "answered" && e.method === "POST");
  return sent && answered ? { sent, answered } : undefined;
}

/** How long nftlb took to answer the first POST sent after `from` (NaN when there was none). */
export function postSpan(events: readonly TraceEvent[], from: number): number {
  const p = firstPost(events, from);
  return p ? p.answered.at - p.sent.at : NaN;
}

/** p10 / p50 / p90 (nearest rank) of samples, and the three as text: `12.1 / 15.3 / 20.4`. */
export function spread(xs: readonly number[]): { p10: number; p50: number; p90: number; text: string } {
  const sorted = [...xs].sort((a, b) => a - b);
  const at = (p: number) => sorted[Math.round((sorted.length - 1) * p)] ?? NaN;
  const [p10, p50, p90] = [at(0.1), at(0.5), at(0.9)];
  const f = (x: number) => (x >= 100 ? x.toFixed(0) : x.toFixed(1));
  return { p10, p50, p90, text: `${f(p10)} / ${f(p50)} / ${f(p90)}` };
}

export function printBreakdown(bySize: Record<number, Breakdown[]>): void {
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;
  const fields = ["watch", "queue", "plan", "prePost", "post", "readBack", "rest", "total"] as const;
  console.log("\n    where the syncer's time goes (median ms per stage, from the syncer's own timestamps):");
  console.log(
    `endpoints | ${fields
      .map((f) => ({ readBack: "read-back", prePost: "pre-POST" })[f as string] ?? f)
      .map((f) => f.padStart(9))
      .join(" | ")} | nftlb requests`,
  );
  for (const [n, runs] of Object.entries(bySize)) {
    const cells = fields.map((f) =>
      median(runs.map((r) => r[f]))
        .toFixed(1)
        .padStart(9),
    );
    console.log(`${n.padStart(9)} | ${cells.join(" | ")} | ${median(runs.map((r) => r.requests))}`);
  }
}
