// Scale benchmarks (issue 14), printed side by side with their floor (one raw nftlb POST of the
// same farms, as the syncer would send them) and the ratio; never pass/fail. Needs root (the real
// nftlb in a network namespace): `npm run bench -- scale` or `node bench/scale.ts [N] [options]`.
//   N                     Services × 10 endpoints for the cold start and restart figures (1000)
//   --with-nftlb-marks    also time one raw POST of the N farms with nftlb picking the marks
//                         (about 700 s at 1,000 × 10, and most farms never reach the kernel)
//   --chunks              also time the N farms raw in POSTs of 100 and of 500 farms
//   --only-add            only the cold start and adding one Service (skip restart and big farms)
//   --profile FILE        CPU profile of the add-one-Service phase (a .cpuprofile) and its summary
//   --profile-cold FILE   CPU profile of the cold start (syncer start → every farm verified)
//   --rounds R            Services added one at a time (median of R; 5)
//   SCALE_TRACE=1         also print each added Service's trace events (syncer/trace.ts)
// Figures:
//   cold start: the syncer's start with N Services stored → every farm written and read back;
//   nftlb restart: nftlb restarted under a running syncer → every farm written again;
//   add one Service with N present; one endpoint change in a 4,094-backend farm; replacing
//   all 2,000 endpoints of a farm (until traffic-ready, and until the old ones are deleted);
//   nftlb's RSS against the syncer's estimate.
import { readFileSync } from "node:fs";
import process from "node:process";
import { startApiServer, type ApiServer } from "../lab/apiserver/index.ts";
import { findResource } from "../lab/apiserver/resources.ts";
import { cannotBuildNetwork, createTestNetwork, type TestNetwork } from "../lab/net/index.ts";
import {
  MAX_BACKENDS_PER_FARM,
  SENTINEL_FARM,
  serializeFarms,
  type FarmPatch,
  type NftlbClient,
} from "../nftlb/index.ts";
import { createLogger } from "../runtime/index.ts";
import { startSyncer, type Syncer } from "../syncer/run.ts";
import { estimateMemory } from "../syncer/capacity.ts";
import type { SyncerConfig } from "../syncer/config.ts";
import { giveSyncerIdentity, syncerConfig } from "../test/syncer-fixture.ts";
import { cip, ip, service, slice } from "./lib/cluster-objects.ts";
import { apiRefusals } from "./lib/refusals.ts";
import { measuredPost } from "./lib/raw-post.ts";
import { coldFarms, withoutMarks } from "./lib/syncer-farms.ts";
import { helpFromHeader } from "./lib/usage.ts";
import { countChains } from "./lib/nft-chains.ts";
import type { TraceEvent } from "../syncer/trace.ts";
import { attribute, printBreakdown, type Breakdown } from "./lib/latency-attribution.ts";
import { phaseProfiler } from "./lib/cpu-profile.ts";
import { cpuSince, load, nftlbPid, type CpuSample } from "./lib/nftlb-cpu.ts";

const args = process.argv.slice(2);
helpFromHeader(import.meta.url, args);
const N = Number(args.find((a) => /^\d+$/.test(a)) ?? 1000);
const option = (name: string) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};
const ROUNDS = Number(option("--rounds") ?? 5);
const PROFILE = option("--profile");
const PROFILE_COLD = option("--profile-cold");
const ONLY_ADD = args.includes("--only-add");
const log = createLogger({ name: "syncer", level: "error" });
const SVC = findResource("", "v1", "services")!;
const SLICE = findResource("discovery.k8s.io", "v1", "endpointslices")!;
const NODE = findResource("", "v1", "nodes")!;
const NAMESPACE = findResource("", "v1", "namespaces")!;
const s = (ms: number) => (ms >= 10_000 ? `${(ms / 1000).toFixed(1)} s` : `${ms.toFixed(0)} ms`);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const row = (what: string, syncer: number, floor: number, floorName: string) =>
  console.log(
    `${what.padEnd(46)} | ${s(syncer).padStart(8)} | ${s(floor).padStart(8)} ${floorName.padEnd(22)} | ${(syncer / floor).toFixed(2)}×`,
  );

/** The test fixture's syncer, as a long run wants it. */
const config = (net: TestNetwork, api: ApiServer): SyncerConfig =>
  syncerConfig(net, api, {
    resyncMs: 3_600_000,
    // The DaemonSet's period (--nftlb-probe-period 5s): every probe is a GET nftlb answers
    // between the syncer's requests and an `nft list tables`, so a faster one would slow the
    // syncer's writes against the floor; the restart figure includes the detection, as on a node.
    nftlbProbeMs: 5_000,
    nftlbTimeoutMs: 600_000,
    logLevel: "error",
  });

/** The raw POST's wall ms. */
const post = async (net: TestNetwork, farms: FarmPatch[]) =>
  (await measuredPost(net.nftlb, serializeFarms(farms))).ms;

/** The raw POST, with nftlb's time on a CPU and waiting for one while it answered. */
const postSampled = async (net: TestNetwork, farms: FarmPatch[]) => ({
  ...(await measuredPost(net.nftlb, serializeFarms(farms))),
  load: load(),
});

/**
 * nftlb's time on a CPU and waiting for one, summed over the syncer's POST /farms requests
 * (the probe's pings excepted), sampled from the syncer's trace at the moment each is sent
 * and answered.
 */
function postCpu() {
  let pid: number | undefined;
  let open: (() => CpuSample | undefined) | undefined;
  let openSelf = 0;
  const sum: CpuSample = { onCpu: 0, waiting: 0 };
  /** This process's CPU (the API stand-in and the syncer) while nftlb answered, ms. */
  let self = 0;
  const selfCpu = () => {
    const u = process.cpuUsage();
    return (u.user + u.system) / 1000;
  };
  return {
    total: () => ({ ...sum, self }),
    follow(net: TestNetwork) {
      pid = nftlbPid(net.nftlb.ns);
      sum.onCpu = sum.waiting = self = 0;
    },
    trace(e: TraceEvent) {
      if (pid === undefined || e.method !== "POST" || e.path !== "/farms") return;
      if (e.stage === "request") {
        open = cpuSince(pid);
        openSelf = selfCpu();
      }
      if (e.stage !== "answered" || open === undefined) return;
      const d = open();
      open = undefined;
      if (d === undefined) return;
      sum.onCpu += d.onCpu;
      sum.waiting += d.waiting;
      self += selfCpu() - openSelf;
    },
  };
}

/** "nftlb on a CPU 3.1 s, waiting for one 0.4 s" for one side of a figure. */
const cpuText = (c: (CpuSample & { self?: number }) | undefined) =>
  c
    ? `nftlb on a CPU ${s(c.onCpu)}, waiting for one ${s(c.waiting)}` +
      (c.self === undefined ? "" : ` (this process meanwhile: ${s(c.self)} of CPU)`)
    : "nftlb's CPU unknown";

/** Restart nftlb (it flushes everything) and wait until it answers. */
const freshNftlb = async (net: TestNetwork) => {
  await net.nftlb.restart();
};

const inKernel = (net: TestNetwork) => countChains(net.nftlb.ns, /chain nat-bench\.m\d+\.http \{/g);

const rssOfNftlb = (net: TestNetwork): number => {
  const pid = nftlbPid(net.nftlb.ns);
  if (pid === undefined) return 0;
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return Number(m?.[1] ?? 0) * 1024;
};

const put = (api: ApiServer, from: number, n: number, endpoints = 10) => {
  for (let i = from; i < from + n; i++) {
    api.store.put(SVC, { ...service(`m${i}`, cip(i)) });
    api.store.put(SLICE, slice(`m${i}`, endpoints, i * endpoints));
  }
};

/** Resolves when `cond` holds on the syncer's view of nftlb after one of its writes. */
function watcher() {
  let waiter: { cond: (c: NftlbClient) => boolean; resolve: () => void } | undefined;
  let client: NftlbClient | undefined;
  let lists = 0;
  const check = () => {
    if (waiter && client && waiter.cond(client)) {
      waiter.resolve();
      waiter = undefined;
    }
  };
  const wrap = (c: NftlbClient): NftlbClient => {
    client = c;
    return {
      ...c,
      known: () => c.known(),
      listFarms: () => {
        lists++;
        return c.listFarms();
      },
      async upsertFarms(farms) {
        const r = await c.upsertFarms(farms);
        check();
        return r;
      },
      async deleteBackends(farm, names) {
        const r = await c.deleteBackends(farm, names);
        check();
        return r;
      },
    };
  };
  /** Resolves at once when `cond` already holds, else after the write that makes it hold. */
  const next = (cond: (c: NftlbClient) => boolean) =>
    new Promise<void>((resolve) => {
      waiter = { cond, resolve };
      check();
    });
  return { wrap, next, lists: () => lists };
}

/**
 * A cold start's stages from the syncer's trace: to the first batch, planning, requests, the rest.
 * Requests sent before the first batch (nftlb read while the caches fill) ran beside the caches'
 * stage: shown apart, not subtracted again.
 */
function coldStages(events: readonly TraceEvent[], t0: number, end: number): string {
  const first = events.find((e) => e.stage === "dequeued");
  const planned = events.find((e) => e.stage === "planned");
  const spent = new Map<string, { ms: number; n: number }>();
  const beside = new Map<string, { ms: number; n: number }>();
  const inPlan = new Map<string, { ms: number; n: number }>();
  const open = new Map<string, number>();
  for (const e of events) {
    // The nftlb probe's pings run beside the reconciler's requests (which are one at a time).
    if (e.path?.endsWith(SENTINEL_FARM)) continue;
    const k = `${e.method} ${e.path === "/farms" ? "/farms" : e.path === "/addresses" ? "/addresses" : "/farms/…"}`;
    if (e.stage === "request") open.set(`${k} ${e.path}`, e.at);
    if (e.stage !== "answered") continue;
    const from = open.get(`${k} ${e.path}`);
    if (from === undefined) continue;
    // Before the first batch: beside the caches; before "planned": inside plan (the ownership check).
    const into =
      first !== undefined && from < first.at
        ? beside
        : planned !== undefined && from < planned.at
          ? inPlan
          : spent;
    const x = into.get(k) ?? { ms: 0, n: 0 };
    into.set(k, { ms: x.ms + e.at - from, n: x.n + 1 });
  }
  const requests = [...spent].reduce((a, [, x]) => a + x.ms, 0);
  const toFirst = (first?.at ?? t0) - t0;
  const plan = (planned?.at ?? 0) - (first?.at ?? 0);
  const list = (m: Map<string, { ms: number; n: number }>) =>
    [...m].map(([k, x]) => `${k} ×${x.n} ${s(x.ms)}`);
  return [
    `start → caches synced, first batch ${s(toFirst)}${beside.size > 0 ? ` (beside it: ${list(beside).join(", ")})` : ""}`,
    `plan ${s(plan)}${inPlan.size > 0 ? ` (in it: ${list(inPlan).join(", ")})` : ""}`,
    ...list(spent),
    `rest ${s(end - t0 - toFirst - plan - requests)}`,
  ].join("; ");
}

const liveCount = (c: NftlbClient, farm: string) =>
  (c.known().get(farm)?.backends ?? []).filter((b) => b.state !== "down").length;
const allCount = (c: NftlbClient, farm: string) => c.known().get(farm)?.backends.length ?? 0;

async function main() {
  const why = cannotBuildNetwork();
  if (why) {
    console.log(`bench/scale: skipped: ${why}`);
    return;
  }
  const net = await createTestNetwork({ backends: 0 });
  const refused = apiRefusals();
  const api = await startApiServer({ historySize: 200_000, log: refused.log });
  api.store.put(NODE, { apiVersion: "v1", kind: "Node", metadata: { name: "node-1" }, status: {} });
  api.store.put(NAMESPACE, { apiVersion: "v1", kind: "Namespace", metadata: { name: "bench" } });
  // The syncer runs as deploy/'s ServiceAccount with deploy/'s RBAC, as in the lab.
  await giveSyncerIdentity(api);
  let syncer: Syncer | undefined;
  try {
    console.log(
      `nftlb 1.0.7 in a network namespace; ${N} Services × 10 endpoints unless said; one run each unless said`,
    );
    console.log(
      `${"".padEnd(46)} | ${"syncer".padStart(8)} | floor (one raw POST of the same farms) | ratio`,
    );

    // Floors first, each on a fresh nftlb.
    const farms = coldFarms(N);
    const floor = await postSampled(net, farms);
    const clientMarks = floor.ms;
    const kernel = await inKernel(net);
    const rss = rssOfNftlb(net);
    if (args.includes("--chunks")) {
      for (const size of [100, 500]) {
        await freshNftlb(net);
        let t = 0;
        for (let i = 0; i < farms.length; i += size) t += await post(net, farms.slice(i, i + size));
        console.log(`raw, POSTs of ${size} farms: ${s(t)} (${(t / clientMarks).toFixed(2)}× one POST)`);
      }
    }
    if (args.includes("--with-nftlb-marks")) {
      await freshNftlb(net);
      const t = await post(net, withoutMarks(farms));
      console.log(`raw, nftlb's own marks: ${s(t)}; farms in the kernel: ${await inKernel(net)} of ${N}`);
    }

    // Cold start: the syncer starts with N Services stored and an empty nftlb.
    await freshNftlb(net);
    put(api, 0, N);
    const w = watcher();
    const cpu = postCpu();
    cpu.follow(net);
    const coldLoad = load();
    const coldProfiler = PROFILE_COLD ? phaseProfiler() : undefined;
    await coldProfiler?.start();
    const t0 = performance.now();
    const events: TraceEvent[] = [];
    let tracing = true;
    syncer = await startSyncer(config(net, api), {
      log,
      wrapNftlb: w.wrap,
      trace: (e) => {
        cpu.trace(e);
        if (tracing) events.push(e);
      },
    });
    await syncer.started;
    const cold = performance.now() - t0;
    tracing = false;
    const coldProfiled = await coldProfiler?.stop(PROFILE_COLD!, 25);
    row(`cold start ${N} × 10 (start → all verified)`, cold, clientMarks, "client marks");
    console.log(`  where it went: ${coldStages(events, t0, t0 + cold)}`);
    // On a shared machine the two POSTs, minutes apart, wait behind different loads: their
    // time on a CPU compares nftlb's work, their wait the machine.
    const coldCpu = cpu.total();
    console.log(
      `  the syncer's POST: ${cpuText(coldCpu)} (load ${coldLoad}); the raw POST: ${cpuText(floor.cpu)} (load ${floor.load})` +
        (floor.cpu ? `; on a CPU ${(coldCpu.onCpu / floor.cpu.onCpu).toFixed(2)}× the raw POST's` : ""),
    );
    console.log(
      `  farms in the kernel after the raw POST: ${kernel} of ${N}; after the syncer: ${await inKernel(net)}`,
    );
    if (coldProfiled)
      console.log([`  CPU profile of the cold start (${PROFILE_COLD}):`, ...coldProfiled].join("\n"));

    // nftlb restart under the running syncer.
    if (!ONLY_ADD) {
      const listed = w.lists();
      const back = w.next(
        (c) => w.lists() > listed && [...c.known().keys()].filter((k) => k.startsWith("bench.m")).length >= N,
      );
      const restartLoad = load();
      const t1 = performance.now();
      await net.nftlb.restart();
      cpu.follow(net);
      await back;
      row(`nftlb restart → all ${N} re-programmed`, performance.now() - t1, clientMarks, "client marks");
      console.log(`  the syncer's POST: ${cpuText(cpu.total())} (load ${restartLoad})`);
    }

    // Add one Service with N present, against the raw POST of that farm (median of 5).
    const add: number[] = [];
    const addRaw: number[] = [];
    const stages: Breakdown[] = [];
    const profiler = PROFILE ? phaseProfiler() : undefined;
    await profiler?.start();
    for (let r = 0; r < ROUNDS; r++) {
      const i = N + r;
      const done = w.next((c) => liveCount(c, `bench.m${i}.http`) === 10);
      events.length = 0;
      tracing = true;
      const t = performance.now();
      put(api, i, 1);
      await done;
      const t9 = performance.now();
      tracing = false;
      add.push(t9 - t);
      stages.push(attribute(events, `bench/m${i}`, t, t9));
      if (process.env.SCALE_TRACE)
        console.log(JSON.stringify(events.map((e) => ({ ...e, at: +(e.at - t).toFixed(1) }))));
      const [f] = coldFarms(1, 10, N + 1000 + r);
      addRaw.push(await post(net, [{ ...f!, mark: `0x${(0x7000000 + r * 0x1000).toString(16)}` }]));
    }
    const profiled = await profiler?.stop(PROFILE!);
    row(`add one Service with ${N} present (median of ${ROUNDS})`, median(add), median(addRaw), "that farm");
    printBreakdown({ 10: stages });
    if (profiled) console.log([`\nCPU profile of the add phase (${PROFILE}):`, ...profiled].join("\n"));
    if (ONLY_ADD) return refused.check();

    // One endpoint change in a 4,094-backend farm, the widest one nftlb can hold.
    const WIDE = MAX_BACKENDS_PER_FARM;
    const wide = "bench.wide.http";
    api.store.put(SVC, service("wide", cip(N + 500)));
    const made = w.next((c) => liveCount(c, wide) === WIDE);
    const tw = performance.now();
    api.store.put(SLICE, slice("wide", WIDE, 100_000 % 62_500));
    await made;
    const wideMs = performance.now() - tw;
    const [wideFarm] = coldFarms(1, WIDE, 0);
    console.log(
      `  a 4,094-backend farm written by the syncer in ${s(wideMs)} (raw POST of one: ${s(await post(net, [{ ...wideFarm!, name: "bench.rawwide.http", addresses: [{ ...wideFarm!.addresses![0]!, name: "rawwide", "ip-addr": cip(N + 501) }], mark: "0x7fff0000" }]))})`,
    );
    const has = (c: NftlbClient, farm: string, addr: string) =>
      (c.known().get(farm)?.backends ?? []).some((b) => b["ip-addr"] === addr && b.state !== "down");
    const one = w.next((c) => has(c, wide, ip(50_000)));
    const te = performance.now();
    const sl = slice("wide", WIDE, 100_000 % 62_500);
    sl.endpoints[0] = { addresses: [ip(50_000)], conditions: { ready: true } };
    api.store.put(SLICE, sl);
    await one;
    const change = performance.now() - te;
    await w.next((c) => allCount(c, wide) === WIDE);
    const changeAll = performance.now() - te;
    // The same change raw: the old backend down, the new one on its mark, in one POST.
    const rawChange = await post(net, [
      {
        name: "bench.rawwide.http",
        backends: [
          { name: ip(0), state: "down" },
          { name: ip(50_001), "ip-addr": ip(50_001), port: "8080", mark: "0x002" },
        ],
      },
    ]);
    row("one endpoint change in a 4,094-backend farm", change, rawChange, "that change");
    console.log(`  … and the old backend deleted from nftlb: ${s(changeAll)}`);

    // Replace all 2,000 endpoints of a farm.
    const big = "bench.big.http";
    api.store.put(SVC, service("big", cip(N + 600)));
    const bigMade = w.next((c) => liveCount(c, big) === 2000);
    api.store.put(SLICE, slice("big", 2000, 20_000));
    await bigMade;
    const swapped = w.next(
      (c) =>
        liveCount(c, big) === 2000 &&
        c
          .known()
          .get(big)!
          .backends.some((b) => b["ip-addr"] === ip(40_000)),
    );
    const tr = performance.now();
    api.store.put(SLICE, slice("big", 2000, 40_000));
    await swapped;
    const ready = performance.now() - tr;
    const cleaned = w.next((c) => allCount(c, big) === 2000);
    await cleaned;
    const clean = performance.now() - tr;
    const [rawBig] = coldFarms(1, 2000, 0);
    const rb = {
      ...rawBig!,
      name: "bench.rawbig.http",
      addresses: [{ ...rawBig!.addresses![0]!, name: "rawbig", "ip-addr": cip(N + 601) }],
      mark: "0x7ffe0000",
    };
    await post(net, [rb]);
    const rawSwap = await post(net, [
      {
        name: rb.name,
        backends: [
          ...rb.backends!.map((b) => ({ name: b.name, state: "down" as const })),
          ...coldFarms(1, 2000, 30)[0]!.backends!,
        ],
      },
    ]);
    row("replace all 2,000 endpoints: traffic-ready", ready, rawSwap, "that POST");
    console.log(`  … and the 2,000 old ones deleted from nftlb (in ~1 s steps): ${s(clean)}`);

    const est = estimateMemory(N, N * 10);
    console.log(
      `nftlb RSS with ${N} × 10: ${(rss / 2 ** 20).toFixed(0)} MiB; the syncer's estimate ${(est / 2 ** 20).toFixed(0)} MiB (${(est / rss).toFixed(2)}×)`,
    );
    refused.check();
  } finally {
    await syncer?.stop();
    await api.stop();
    await net.destroy();
  }
}

await main();
