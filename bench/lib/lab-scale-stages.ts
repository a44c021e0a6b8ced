// Where bench/lab-scale.ts's time goes, from three records of the same run: the API stand-in's
// (when each object was stored; each request it answered, with its own duration), the syncer's
// trace (syncer/trace.ts, written by the lab's syncer process, epoch clock) and the bench's own
// marks. Everything is on this process's performance.now() clock.
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
  // The syncer: batches, their planning, nftlb's answers, the rest of each pass.
  const passes: { start: number; planned?: number; end?: number }[] = [];
  const nftlb = new Map<string, number[]>();
  const open = new Map<string, number>();
  for (const e of trace) {
    if (e.at < m.start) continue;
    if (e.stage === "dequeued") passes.push({ start: e.at });
    const p = passes.at(-1);
    if (e.stage === "planned" && p) p.planned = e.at;
    if (e.stage === "synced" && p) p.end = e.at;
    // The nftlb probe pings beside the reconciler's requests; keyed by path, they pair up.
    const k = `${e.method} ${e.path === "/farms" ? "/farms" : "/farms/…"}`;
    if (e.stage === "request") open.set(`${k} ${e.path}`, e.at);
    if (e.stage === "answered") {
      const from = open.get(`${k} ${e.path}`);
      if (from !== undefined) nftlb.set(k, [...(nftlb.get(k) ?? []), e.at - from]);
    }
  }
  const done = passes.filter((p) => p.end !== undefined);
  const busy = sum(done.map((p) => p.end! - p.start));
  const plan = sum(done.map((p) => (p.planned ?? p.start) - p.start));
  const inNftlb = sum([...nftlb.values()].flat());
  return [
    `critical path: kubectl start → first object stored ${ms(first - m.start)}; → last stored ${ms(last - first)} (${m.stored.size} objects, ${(m.stored.size / ((last - first) / 1000)).toFixed(0)}/s); kubectl exits +${ms(m.exited - last)}; last stored → every farm synced ${ms(m.synced - last)}; → in the kernel ${ms(m.end - m.synced)}`,
    `kubectl's requests (${mine.length} in ${ms(span)}, ${(mine.length / (span / 1000)).toFixed(0)}/s; the stand-in's own time per request, admission included): ${requests.join("; ")}`,
    `other clients meanwhile: ${[...others].map(([k, n]) => `${k} ×${n}`).join("; ") || "none"}`,
    `watch delivery (object stored → the syncer queued its key): median ${quantile(delivery, 0.5).toFixed(1)} ms, p99 ${quantile(delivery, 0.99).toFixed(1)} ms, max ${ms(Math.max(...delivery))} (${delivery.length} of ${m.stored.size} objects)`,
    `syncer: ${done.length} passes, busy ${ms(busy)} of the ${ms(m.synced - m.start)} (plan ${ms(plan)}; nftlb answering ${ms(inNftlb)}: ${[...nftlb].map(([k, xs]) => `${k} ×${xs.length} ${ms(sum(xs))}`).join(", ")}; the rest of the passes ${ms(busy - plan - inNftlb)})`,
  ];
}
