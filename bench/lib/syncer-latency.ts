// Bench (a) of bench/syncer.ts: an EndpointSlice change (0 → N endpoints of an existing Service)
// from the API write until the syncer's verified write answered, next to the same change — the
// farms the syncer sent — written by the nftlb client (POST + read-back GET) and as a bare POST.
//
// The three take turns in every round (syncer, client, bare; then client, bare, syncer; ...), and
// every sample starts from the same nftlb state: the farm deleted, then created as the syncer first
// wrote it (the syncer by itself, the floors with the farms it sent), then changed. Run one after
// the other, the floors always followed the syncer and the medians of 9 moved by ±50 % between
// runs under load; interleaved, nftlb's answers to the syncer's POST and to the client's are one
// distribution.
import { writeFileSync } from "node:fs";
import os from "node:os";
import process from "node:process";
import type { ApiServer } from "../../lab/apiserver/index.ts";
import { findResource } from "../../lab/apiserver/resources.ts";
import type { TestNetwork } from "../../lab/net/index.ts";
import { createNftlbClient, serializeFarms, type FarmPatch, type NftlbClient } from "../../nftlb/index.ts";
import { createTransport } from "../../nftlb/transport.ts";
import { startSyncer, type SyncerDeps } from "../../syncer/run.ts";
import type { SyncerConfig } from "../../syncer/config.ts";
import { tracedSend, type TraceEvent } from "../../syncer/trace.ts";
import { rawPost } from "./raw-post.ts";
import { cip, service, slice } from "./cluster-objects.ts";
import {
  attribute,
  firstPost,
  postSpan,
  printBreakdown,
  spread,
  type Breakdown,
} from "./latency-attribution.ts";
import { nftTable } from "../../syncer/node-rules-nft.ts";
import { EMPTY_RULES, type NodeRules } from "../../syncer/node-rules.ts";
import { between, nftlbPid, sample, type CpuSample } from "./nftlb-cpu.ts";
import { tableReplay } from "./table-replay.ts";

const SVC = findResource("", "v1", "services")!;
const SLICE = findResource("discovery.k8s.io", "v1", "endpointslices")!;
const FARM = "bench.a.http";
/** Rounds per size: a multiple of 3, so each of the three takes each turn equally often. */
const rounds = (n: number) => (n >= 1000 ? 9 : 21);

/**
 * Resolves when a verified upsert leaving `farm` with `backends` backends has been answered, with
 * the farms that upsert sent (so the floors can send exactly the same change).
 */
function watchWrites(client: NftlbClient) {
  let waiter: { backends: number; resolve: (sent: FarmPatch[]) => void } | undefined;
  const wrapped: NftlbClient = {
    ...client,
    known: () => client.known(),
    listFarms: () => client.listFarms(),
    async upsertFarms(farms) {
      const r = await client.upsertFarms(farms);
      const f = waiter && client.known().get(FARM);
      if (r.ok && waiter && f && f.backends.length === waiter.backends) waiter.resolve([...farms]);
      return r;
    },
  };
  const next = (backends: number) => new Promise<FarmPatch[]>((resolve) => (waiter = { backends, resolve }));
  return { wrapped, next };
}

export async function benchLatency(
  net: TestNetwork,
  api: ApiServer,
  config: SyncerConfig,
  deps: SyncerDeps,
): Promise<void> {
  const [load] = os.loadavg();
  console.log(
    "\n(a) EndpointSlice change (0 → N endpoints of an existing Service) → verified in nftlb, vs the same\n" +
      "    change sent by the nftlb client (POST + read-back) and as a bare POST; the three interleaved,\n" +
      `    each from a freshly created farm; p10 / p50 / p90 of ${rounds(1)} rounds (${rounds(1000)} at 1,000); ` +
      `load average ${load?.toFixed(1)}`,
  );
  console.log(
    "endpoints | syncer                 | client POST+GET        | ratio | bare POST              | ratio | (new farm)",
  );
  // nftlb's CPU at each POST sent and answered: its work for the write, apart from run-queue waits.
  const pid = nftlbPid(net.nftlb.ns);
  const cpuAt = new Map<TraceEvent, CpuSample | undefined>();
  const traced = (into: TraceEvent[]) => (e: TraceEvent) => {
    if (e.method === "POST" && pid) cpuAt.set(e, sample(pid));
    into.push(e);
  };
  const clientEvents: TraceEvent[] = [];
  const transport = { url: net.nftlb.url, key: net.nftlb.key, timeoutMs: 600_000 };
  const raw = createNftlbClient({
    ...transport,
    send: tracedSend(createTransport(transport), traced(clientEvents)),
  });
  let watch: ReturnType<typeof watchWrites> | undefined;
  const events: TraceEvent[] = [];
  const table = config.nodeRules
    ? tableReplay(nftTable({ command: config.nftCommand ?? ["nft"] }))
    : undefined;
  const syncer = await startSyncer(config, {
    ...deps,
    wrapNftlb: (c) => (watch = watchWrites(c)).wrapped,
    trace: traced(events),
    ...(table ? { nodeRulesTable: table.table } : {}),
  });
  await syncer.started;
  const must = async (r: Promise<{ ok: boolean }>) => {
    if (!(await r).ok) throw new Error("nftlb refused a floor's set-up");
  };
  const gone = async () => {
    for (;;) {
      const r = await raw.getFarm(FARM);
      if (r.ok && r.value === undefined) return;
      await new Promise((res) => setTimeout(res, 5));
    }
  };
  const stages: Record<number, Breakdown[]> = {};
  const posts: Record<number, { syncer: number[]; client: number[] }> = {};
  const gaps: Record<number, { syncer: number[]; client: number[] }> = {};
  const cpus: Record<number, { syncer: CpuSample[]; client: CpuSample[] }> = {};
  // `--post-windows FILE`: each counted POST's window in CLOCK_MONOTONIC ns (bpftrace's nsecs),
  // and the table's nft runs, to line up with bench/nftlb-offcpu.bt's off-CPU stacks of nftlb.
  const windows: { n: number; who: string; sent: number; answered: number }[] = [];
  const mono = Number(process.hrtime.bigint()) - performance.now() * 1e6;
  const window = (n: number, who: string, from: readonly TraceEvent[], t0: number) => {
    const p = firstPost(from, t0);
    if (p) windows.push({ n, who, sent: mono + p.sent.at * 1e6, answered: mono + p.answered.at * 1e6 });
  };
  /** ms from the end of the table's last nft run to the first POST after `t0` (NaN: no run). */
  const afterNft = (from: readonly TraceEvent[], t0: number): number => {
    const sent = firstPost(from, t0)?.sent.at ?? NaN;
    const ends = (table?.runs ?? []).map((r) => (r.end - mono) / 1e6).filter((end) => end <= sent);
    return ends.length > 0 ? sent - Math.max(...ends) : NaN;
  };
  /** nftlb's ms on a CPU, and waiting for one, while it answered the first POST after `t0`. */
  const postCpu = (from: readonly TraceEvent[], t0: number): CpuSample => {
    const p = firstPost(from, t0);
    return between(p && cpuAt.get(p.sent), p && cpuAt.get(p.answered)) ?? { onCpu: NaN, waiting: NaN };
  };
  // The syncer's table while the Service is gone, and while its farm is written (--node-rules).
  let idle: NodeRules = EMPTY_RULES;
  let held: NodeRules = EMPTY_RULES;
  for (const n of [1, 10, 100, 1000]) {
    const s: number[] = [];
    const c: number[] = [];
    const bare: number[] = [];
    const created: number[] = [];
    const post = (posts[n] = { syncer: [] as number[], client: [] as number[] });
    const gap = (gaps[n] = { syncer: [] as number[], client: [] as number[] });
    const cpu = (cpus[n] = { syncer: [] as CpuSample[], client: [] as CpuSample[] });
    let before: FarmPatch[] = [];
    let change: FarmPatch[] = [];
    const bySyncer = async (run: number, keep: boolean) => {
      if (table) idle = table.current();
      const ready = watch!.next(0);
      api.store.put(SVC, service("a", cip(1)));
      api.store.put(SLICE, slice("a", 0));
      before = await ready;
      // Its pass over, and any nft run for kube-nftlb's table after that write (it goes on after
      // the pass; the creation's table goes in before its write, so there is none unless the
      // table was behind): the change then meets an idle syncer, as the client's write meets an
      // idle client. A change arriving during such a run does not wait for it (unless its write
      // needs it: syncer/node-rules-keeper.ts), but nftlb's answer then does (README).
      const wrote = performance.now();
      while (!events.some((e) => e.stage === "synced" && e.at >= wrote))
        await new Promise((res) => setTimeout(res, 1));
      await table?.settled();
      if (table) held = table.current();
      const done = watch!.next(n);
      events.length = 0;
      cpuAt.clear();
      const t0 = performance.now();
      api.store.put(SLICE, slice("a", n, run * 1000));
      change = await done;
      const t9 = performance.now();
      if (keep) {
        s.push(t9 - t0);
        const b = attribute(events, "bench/a", t0, t9);
        (stages[n] ??= []).push(b);
        post.syncer.push(b.post);
        cpu.syncer.push(postCpu(events, t0));
        gap.syncer.push(afterNft(events, t0));
        window(n, "syncer", events, t0);
      }
      api.store.remove(SVC, "bench", "a");
      api.store.remove(SLICE, "bench", "a-1");
      await gone();
    };
    // The floors go through the syncer's table states in the syncer's order (table-replay.ts):
    // the table as the syncer holds it once the farm's creation is verified (its nft run before
    // that write: a new farm's refusal goes in first), the farm created, the change, then the
    // table it goes back to. The POST then follows the creation's write, not an nft run, in all
    // three turns ("after nft" below; a POST right after an nft run costs nftlb ~3 ms:
    // docs/node-rules.md, "What nftlb waits for").
    const byClient = async () => {
      await table?.replay(held);
      await must(raw.upsertFarms(before));
      clientEvents.length = 0;
      cpuAt.clear();
      const t0 = performance.now();
      const w = await raw.upsertFarms(change);
      if (!w.ok) throw new Error(w.error.message);
      c.push(performance.now() - t0);
      post.client.push(postSpan(clientEvents, t0));
      cpu.client.push(postCpu(clientEvents, t0));
      gap.client.push(afterNft(clientEvents, t0));
      window(n, "client", clientEvents, t0);
      await table?.replay(idle);
      await must(raw.deleteFarm(FARM));
    };
    const byBarePost = async () => {
      await table?.replay(held);
      await must(raw.upsertFarms(before));
      bare.push(await timedPost(net, change));
      await table?.replay(idle);
      await must(raw.deleteFarm(FARM));
      created.push(await timedPost(net, merge(before, change)));
      await must(raw.deleteFarm(FARM));
    };
    // The floors replay what the syncer sent: one syncer change first, not counted.
    await bySyncer(0, false);
    for (let run = 1; run <= rounds(n); run++) {
      const turns = [() => bySyncer(run, true), byClient, byBarePost];
      for (let i = 0; i < turns.length; i++) await turns[(i + run) % turns.length]!();
    }
    const [a, b, f] = [spread(s), spread(c), spread(bare)];
    console.log(
      `${String(n).padStart(9)} | ${a.text.padEnd(22)} | ${b.text.padEnd(22)} | ${(a.p50 / b.p50).toFixed(2)}× | ` +
        `${f.text.padEnd(22)} | ${(a.p50 / f.p50).toFixed(2)}× | ${spread(created).p50.toFixed(1)} ms`,
    );
  }
  await syncer.stop();
  const out = process.argv.indexOf("--post-windows");
  if (out > 0)
    writeFileSync(process.argv[out + 1]!, JSON.stringify({ pid, windows, nftRuns: table?.runs ?? [] }));
  console.log(
    "\n    nftlb's answer to the POST (ms, p10 / p50 / p90): the syncer's write vs the client's same write;\n" +
      "    then of it (p50s, syncer / client), from /proc/PID/schedstat: nftlb on a CPU, waiting for one,\n" +
      "    and neither (asleep: in nftlb's nft commands, the kernel's nf_tables waits, e.g. for RCU);\n" +
      "    with --node-rules, how long after the end of the table's last nft run the POST went (after nft)",
  );
  for (const [n, p] of Object.entries(posts)) {
    const [a, b] = [spread(p.syncer), spread(p.client)];
    const c = cpus[Number(n)]!;
    const part = (k: "syncer" | "client", f: (x: CpuSample, answer: number) => number) =>
      spread(c[k].map((x, i) => f(x, p[k][i]!))).p50.toFixed(1);
    const both = (f: (x: CpuSample, answer: number) => number) =>
      `${part("syncer", f)} / ${part("client", f)}`;
    console.log(
      `${n.padStart(9)} | syncer ${a.text.padEnd(22)} | client ${b.text.padEnd(22)} | ${(a.p50 / b.p50).toFixed(2)}× | ` +
        `on a CPU ${both((x) => x.onCpu)} | waiting ${both((x) => x.waiting)} | ` +
        `asleep ${both((x, answer) => answer - x.onCpu - x.waiting)}` +
        (table
          ? ` | after nft ${spread(gaps[Number(n)]!.syncer).p50.toFixed(1)} / ${spread(gaps[Number(n)]!.client).p50.toFixed(1)}`
          : ""),
    );
  }
  printBreakdown(stages);
}

const timedPost = async (net: TestNetwork, farms: FarmPatch[]) => {
  const t = performance.now();
  const status = await rawPost(net.nftlb.url, net.nftlb.key, serializeFarms(farms));
  if (status !== 200) throw new Error(`bare POST: HTTP ${status}`);
  return performance.now() - t;
};

/** The farm as one creating POST: the first write's farms with the change's backends added. */
const merge = (before: FarmPatch[], change: FarmPatch[]): FarmPatch[] =>
  before.map((f) => {
    const c = change.find((x) => x.name === f.name);
    return c ? { ...f, ...c, backends: [...(f.backends ?? []), ...(c.backends ?? [])] } : f;
  });
