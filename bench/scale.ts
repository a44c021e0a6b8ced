// Scale benchmarks (issue 14), printed side by side with their floor (one raw nftlb POST of the
// same farms, as the syncer would send them) and the ratio; never pass/fail. Needs root (the real
// nftlb in a network namespace): `npm run bench -- scale` or `node bench/scale.ts [N] [options]`.
//   N                     Services × 10 endpoints for the cold start and restart figures (1000)
//   --with-nftlb-marks    also time one raw POST of the N farms with nftlb picking the marks
//                         (about 700 s at 1,000 × 10, and most farms never reach the kernel)
//   --chunks              also time the N farms raw in POSTs of 100 and of 500 farms
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
import { run } from "../lab/net/sys.ts";
import { MAX_BACKENDS_PER_FARM, serializeFarms, type FarmPatch, type NftlbClient } from "../nftlb/index.ts";
import { createLogger } from "../runtime/index.ts";
import { startSyncer, type Syncer } from "../syncer/run.ts";
import { desired } from "../syncer/desired.ts";
import { plan } from "../syncer/plan.ts";
import { estimateMemory } from "../syncer/capacity.ts";
import type { SyncerConfig } from "../syncer/config.ts";
import { cip, ip, service, slice } from "./lib/cluster-objects.ts";
import { rawPost } from "./lib/raw-post.ts";

const args = process.argv.slice(2);
const N = Number(args.find((a) => /^\d+$/.test(a)) ?? 1000);
const log = createLogger({ name: "syncer", level: "error" });
const SVC = findResource("", "v1", "services")!;
const SLICE = findResource("discovery.k8s.io", "v1", "endpointslices")!;
const NODE = findResource("", "v1", "nodes")!;
const NAMESPACE = findResource("", "v1", "namespaces")!;
const node = { name: "node-1", addresses: [] };
const s = (ms: number) => (ms >= 10_000 ? `${(ms / 1000).toFixed(1)} s` : `${ms.toFixed(0)} ms`);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const row = (what: string, syncer: number, floor: number, floorName: string) =>
  console.log(
    `${what.padEnd(46)} | ${s(syncer).padStart(8)} | ${s(floor).padStart(8)} ${floorName.padEnd(22)} | ${(syncer / floor).toFixed(2)}×`,
  );

function config(net: TestNetwork, api: ApiServer): SyncerConfig {
  return {
    nftlbUrl: net.nftlb.url,
    nftlbKey: net.nftlb.key,
    nodeName: "node-1",
    kubeconfig: api.kubeconfigPath,
    probePort: 0,
    endpointsApi: "slices",
    proxyMode: "replace",
    resyncMs: 3_600_000,
    nftlbProbeMs: 100,
    nftlbTimeoutMs: 600_000,
    logLevel: "error",
  };
}

/** The farms the syncer would POST to an empty nftlb for Services 0..n-1 (marks included). */
const coldFarms = (n: number, endpoints = 10, from = 0): FarmPatch[] =>
  plan(
    Array.from(
      { length: n },
      (_, i) =>
        desired(
          service(`m${from + i}`, cip(from + i)),
          [slice(`m${from + i}`, endpoints, (from + i) * endpoints)],
          node,
        ).farms[0]!,
    ),
    [],
    { owns: () => true },
  ).upserts;

const withoutMarks = (farms: FarmPatch[]): FarmPatch[] =>
  farms.map(({ mark: _farm, ...f }) => ({
    ...f,
    backends: (f.backends ?? []).map(({ mark: _b, ...b }) => b),
  }));

const post = async (net: TestNetwork, farms: FarmPatch[]) => {
  const t0 = performance.now();
  const status = await rawPost(net.nftlb.url, net.nftlb.key, serializeFarms(farms));
  if (status !== 200) throw new Error(`raw POST: HTTP ${status}`);
  return performance.now() - t0;
};

/** Restart nftlb (it flushes everything) and wait until it answers. */
const freshNftlb = async (net: TestNetwork) => {
  await net.nftlb.restart();
};

const inKernel = async (net: TestNetwork) =>
  [...(await net.ruleset()).matchAll(/chain nat-bench\.m\d+\.http \{/g)].length;

const rssOfNftlb = async (net: TestNetwork): Promise<number> => {
  const pids = (await run(["ip", "netns", "pids", net.nftlb.ns])).split(/\s+/).filter(Boolean);
  for (const pid of pids) {
    const comm = readFileSync(`/proc/${pid}/comm`, "utf8").trim();
    if (comm !== "nftlb") continue;
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return Number(m?.[1] ?? 0) * 1024;
  }
  return 0;
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
  const api = await startApiServer({ historySize: 200_000 });
  api.store.put(NODE, { apiVersion: "v1", kind: "Node", metadata: { name: "node-1" }, status: {} });
  api.store.put(NAMESPACE, { apiVersion: "v1", kind: "Namespace", metadata: { name: "bench" } });
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
    const clientMarks = await post(net, farms);
    const kernel = await inKernel(net);
    const rss = await rssOfNftlb(net);
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
    const t0 = performance.now();
    syncer = await startSyncer(config(net, api), { log, wrapNftlb: w.wrap });
    await syncer.started;
    const cold = performance.now() - t0;
    row(`cold start ${N} × 10 (start → all verified)`, cold, clientMarks, "client marks");
    console.log(
      `  farms in the kernel after the raw POST: ${kernel} of ${N}; after the syncer: ${await inKernel(net)}`,
    );

    // nftlb restart under the running syncer.
    const listed = w.lists();
    const back = w.next(
      (c) => w.lists() > listed && [...c.known().keys()].filter((k) => k.startsWith("bench.m")).length >= N,
    );
    const t1 = performance.now();
    await net.nftlb.restart();
    await back;
    row(`nftlb restart → all ${N} re-programmed`, performance.now() - t1, clientMarks, "client marks");

    // Add one Service with N present, against the raw POST of that farm (median of 5).
    const add: number[] = [];
    const addRaw: number[] = [];
    for (let r = 0; r < 5; r++) {
      const i = N + r;
      const done = w.next((c) => liveCount(c, `bench.m${i}.http`) === 10);
      const t = performance.now();
      put(api, i, 1);
      await done;
      add.push(performance.now() - t);
      const [f] = coldFarms(1, 10, N + 100 + r);
      addRaw.push(await post(net, [{ ...f!, mark: `0x${(0x7000000 + r * 0x1000).toString(16)}` }]));
    }
    row(`add one Service with ${N} present (median of 5)`, median(add), median(addRaw), "that farm");

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
  } finally {
    await syncer?.stop();
    await api.stop();
    await net.destroy();
  }
}

await main();
