// Where bench/lab-scale.ts's time goes, from three records of the same run: the API stand-in's
// (when each object was stored; each request it answered, with its own duration), the syncer's
// trace (syncer/trace.ts, written by the lab's syncer process, epoch clock) and the bench's own
// marks. Everything is on this process's performance.now() clock. Also: reading the trace file as it
// grows, and when every Service counts as synced.
import { closeSync, existsSync, fstatSync, openSync, readSync } from "node:fs";
import type { TraceEvent } from "../../syncer/trace.ts";

export interface ApiRequest {
  /** when the answer finished */
  at: number;
  method: string;
  path: string;
  status: number;
  ms: number;
  userAgent: string;
}

/** Parses the stand-in's log line (lab/apiserver/router.ts): `GET /path?q 200 3ms "kubectl/v1.32.4 …"`. */
export function parseApiLine(at: number, line: string): ApiRequest | undefined {
  const m = /^(\S+) (\S+) (\d+) (\d+)ms (".*")$/.exec(line);
  if (!m) return undefined;
  const userAgent = JSON.parse(m[5]!) as string;
  return { at, method: m[1]!, path: m[2]!, status: Number(m[3]), ms: Number(m[4]), userAgent };
}

export interface Marks {
  /** kubectl apply started / exited */
  start: number;
  exited: number;
  /** when the stand-in stored each object, by `kind/name` */
  stored: Map<string, number>;
  /** every farm written and read back by the syncer (its last synced batch) */
  synced: number;
  /** every farm's chain seen in the kernel */
  end: number;
}

const ms = (x: number) => (x >= 10_000 ? `${(x / 1000).toFixed(1)} s` : `${x.toFixed(0)} ms`);
const quantile = (xs: number[], q: number) =>
  xs.length === 0 ? NaN : [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(q * xs.length))]!;
const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);

/** Lines that say where the time went; `keyOf(kind/name)` → the syncer's queue key. */
export function stages(
  m: Marks,
  api: readonly ApiRequest[],
  trace: readonly TraceEvent[],
  keyOf: (object: string) => string,
): string[] {
  const storedAt = [...m.stored.values()];
  const first = Math.min(...storedAt);
  const last = Math.max(...storedAt);
  const during = api.filter((r) => r.at >= m.start && r.at <= m.exited + 1);
  const mine = during.filter((r) => r.userAgent.startsWith("kubectl/"));
  const others = new Map<string, number>();
  for (const r of during)
    if (!r.userAgent.startsWith("kubectl/")) {
      const who = `${r.userAgent.split(" ")[0] || "(none)"} ${r.method} ${/\/namespaces\/[^/]+\/([^/?]+)|\/api\/v1\/([^/?]+)/.exec(r.path)?.slice(1).find(Boolean) ?? r.path}`;
      others.set(who, (others.get(who) ?? 0) + 1);
    }
  const by = new Map<string, ApiRequest[]>();
  for (const r of mine) {
    const kind = /\/(services|endpointslices)(\/|\?|$)/.exec(r.path)?.[1] ?? "other";
    const k = `${r.method} ${kind}`;
    by.set(k, [...(by.get(k) ?? []), r]);
  }
  const requests = [...by]
    .sort((a, b) => b[1].length - a[1].length)
    .map(
      ([k, rs]) =>
        `${k} ×${rs.length} (server ${ms(sum(rs.map((r) => r.ms)))}, median ${quantile(
          rs.map((r) => r.ms),
          0.5,
        )} ms)`,
    );
  const span = m.exited - m.start;

  // Watch delivery: stored → the next time the syncer queued that object's key.
  const queued = trace.filter((e) => e.stage === "queued");
  const delivery: number[] = [];
  for (const [object, at] of m.stored) {
    const key = keyOf(object);
    const q = queued.find((e) => e.at >= at && e.keys?.includes(key) === true);
    if (q) delivery.push(q.at - at);
  }
  // The syncer: its passes, their planning, nftlb's answers inside them, the rest of each pass.
  const done = passes(trace, m.start).filter((p) => p.end !== undefined);
  const nftlb = new Map<string, number[]>();
  for (const p of done) for (const r of p.requests) nftlb.set(r.what, [...(nftlb.get(r.what) ?? []), r.ms]);
  const busy = sum(done.map((p) => p.end! - p.start));
  const plan = sum(done.map((p) => (p.planned ?? p.start) - p.start));
  const inNftlb = sum([...nftlb.values()].flat());
  const failed = done.filter((p) => p.failed);
  return [
    `critical path: kubectl start → first object stored ${ms(first - m.start)}; → last stored ${ms(last - first)} (${m.stored.size} objects, ${(m.stored.size / ((last - first) / 1000)).toFixed(0)}/s); kubectl exits +${ms(m.exited - last)}; last stored → every farm synced ${ms(m.synced - last)}; → in the kernel ${ms(m.end - m.synced)}`,
    `kubectl's requests (${mine.length} in ${ms(span)}, ${(mine.length / (span / 1000)).toFixed(0)}/s; the stand-in's own time per request, admission included): ${requests.join("; ")}`,
    `other clients meanwhile: ${[...others].map(([k, n]) => `${k} ×${n}`).join("; ") || "none"}`,
    `watch delivery (object stored → the syncer queued its key): median ${quantile(delivery, 0.5).toFixed(1)} ms, p99 ${quantile(delivery, 0.99).toFixed(1)} ms, max ${ms(Math.max(...delivery))} (${delivery.length} of ${m.stored.size} objects)`,
    `syncer: ${done.length} passes (${failed.length} failed and retried: ${ms(sum(failed.map((p) => p.end! - p.start)))}), busy ${ms(busy)} of the ${ms(m.end - m.start)} (plan ${ms(plan)}; nftlb answering ${ms(inNftlb)}: ${[...nftlb].map(([k, xs]) => `${k} ×${xs.length} ${ms(sum(xs))}`).join(", ")}; the rest of the passes ${ms(busy - plan - inNftlb)})`,
  ];
}

export interface Pass {
  start: number;
  planned?: number;
  end?: number;
  failed: boolean;
  keys: readonly string[];
  /** nftlb requests made by the pass, e.g. `POST /farms`, `GET /farms/…` */
  requests: { what: string; ms: number }[];
}

/** The syncer's passes after `since`, one at a time (one worker), with their nftlb requests. */
export function passes(trace: readonly TraceEvent[], since: number): Pass[] {
  const out: Pass[] = [];
  let open: { what: string; at: number } | undefined;
  for (const e of trace) {
    if (e.at < since) continue;
    if (e.stage === "dequeued") out.push({ start: e.at, failed: false, keys: e.keys ?? [], requests: [] });
    const p = out.at(-1);
    if (p === undefined || p.end !== undefined) continue;
    if (e.stage === "planned") p.planned = e.at;
    if (e.stage === "synced") {
      p.end = e.at;
      p.failed = e.failed === true;
    }
    // The nftlb probe's pings (untraced) run beside; the pass's own requests are one at a time.
    const what = `${e.method} ${e.path === "/farms" ? "/farms" : "/farms/…"}`;
    if (e.stage === "request") open = { what, at: e.at };
    if (e.stage === "answered" && open !== undefined) {
      p.requests.push({ what: open.what, ms: e.at - open.at });
      open = undefined;
    }
  }
  return out;
}

/**
 * The syncer's trace so far (JSON lines, epoch clock) on this process's clock, read on from where
 * the last call stopped: a look costs the new lines, not the whole file again.
 */
export function traceReader(file: string): () => TraceEvent[] {
  const events: TraceEvent[] = [];
  let offset = 0;
  let partial = "";
  return () => {
    if (!existsSync(file)) return events;
    const fd = openSync(file, "r");
    try {
      const size = fstatSync(fd).size;
      if (size > offset) {
        const buf = Buffer.alloc(size - offset);
        readSync(fd, buf, 0, buf.length, offset);
        offset = size;
        const lines = (partial + buf.toString("utf8")).split("\n");
        partial = lines.pop() ?? "";
        for (const l of lines) {
          const e = JSON.parse(l) as TraceEvent;
          events.push({ ...e, at: e.at - performance.timeOrigin });
        }
      }
    } finally {
      closeSync(fd);
    }
    return events;
  };
}

/**
 * When every key was last handed to a pass after its last watch event, in a pass that did not
 * fail (a failed one is retried); undefined while some key is waiting. One walk of the trace.
 */
export function allSynced(
  trace: readonly TraceEvent[],
  keys: readonly string[],
  since: number,
): number | undefined {
  const lastQueued = new Map<string, number>();
  const queuedTimes = new Map<string, number>();
  for (const e of trace)
    if (e.stage === "queued" && e.at >= since)
      for (const k of e.keys ?? []) {
        lastQueued.set(k, e.at);
        queuedTimes.set(k, (queuedTimes.get(k) ?? 0) + 1);
      }
  /** Each key's last good pass: when it was handed out and when it finished. */
  const good = new Map<string, { from: number; to: number }>();
  for (const p of passes(trace, since))
    if (p.end !== undefined && !p.failed) for (const k of p.keys) good.set(k, { from: p.start, to: p.end });
  let latest = 0;
  for (const k of keys) {
    const g = good.get(k);
    // Two watch events per Service (the Service, then its slice), both seen by a good pass.
    if ((queuedTimes.get(k) ?? 0) < 2 || g === undefined || g.from < lastQueued.get(k)!) return undefined;
    latest = Math.max(latest, g.to);
  }
  return latest;
}
