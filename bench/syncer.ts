// Syncer benchmarks, printed side by side (never pass/fail). Needs root (network namespaces with
// the real nftlb): `npm run bench -- syncer` or `node bench/syncer.ts [a|b|c ...]`.
// (a) [--node-rules] [--post-windows FILE: POST windows and nft runs for bench/nftlb-offcpu.bt]
//     EndpointSlice change in the API → rules in nftlb (the client's verified write), for 1, 10,
//     100, 1,000 endpoints, against the bare nftlb POST of the same farm (the floor) and the
//     client's verified write (POST + read-back GET) of it, interleaved (bench/lib/syncer-latency.ts).
// (b) K Services × E endpoints from a cold start against one batched raw POST of the same farms.
// (c) the syncer's memory at 1,000 and 10,000 Services, against an in-memory nftlb sink (nftlb
//     itself cannot hold 10,000 farms: 4,095 backends at most, ~256 KB per address).
import process from "node:process";
import { startApiServer, type ApiServer } from "../lab/apiserver/index.ts";
import { findResource } from "../lab/apiserver/resources.ts";
import { deploySyncerKubeconfig } from "../lab/cluster/deploy-identities.ts";
import { cannotBuildNetwork, createTestNetwork, type TestNetwork } from "../lab/net/index.ts";
import { createNftlbClient } from "../nftlb/index.ts";
import { createLogger } from "../runtime/index.ts";
import { startSyncer } from "../syncer/run.ts";
import { desired } from "../syncer/desired.ts";
import { FakeNftlb } from "../syncer/fake-nftlb.ts";
import type { SyncerConfig } from "../syncer/config.ts";
import { benchLatency } from "./lib/syncer-latency.ts";
import { cip, service, slice } from "./lib/cluster-objects.ts";
import { helpFromHeader, refuseUnknown } from "./lib/usage.ts";
import { apiRefusals } from "./lib/refusals.ts";

helpFromHeader(import.meta.url, process.argv.slice(2));
// A typo ("--node-rule", "A") would otherwise run every benchmark without what was asked for.
refuseUnknown(process.argv.slice(2), {
  positional: /^[abc]$/,
  flags: ["--node-rules"],
  options: ["--post-windows"],
  usage: "node bench/syncer.ts [a|b|c ...] [--node-rules] [--post-windows FILE]",
});
const which = new Set(process.argv.slice(2).filter((a) => /^[abc]$/.test(a)));
const want = (x: string) => which.size === 0 || which.has(x);
const log = createLogger({ name: "syncer", level: "error" });
const SVC = findResource("", "v1", "services")!;
const SLICE = findResource("discovery.k8s.io", "v1", "endpointslices")!;
const NODE = findResource("", "v1", "nodes")!;

const ms = (x: number) => `${x.toFixed(1)} ms`;
// `--node-rules`: bench (a) with kube-nftlb's own table (node-rules) programmed as the image does,
// by nft in the node's namespace, where nftlb's nft transactions run too.
const nodeRules = process.argv.includes("--node-rules");
function config(net: { url: string; key: string; ns?: string }): SyncerConfig {
  return {
    nftlbUrl: net.url,
    nftlbKey: net.key,
    nodeName: "node-1",
    kubeconfig: syncerKubeconfig,
    probePort: 0,
    endpointsApi: "slices",
    proxyMode: "replace",
    resyncMs: 3_600_000,
    nftlbProbeMs: 60_000,
    nftlbTimeoutMs: 600_000,
    logLevel: "error",
    // The benchmarks measure the nftlb path; the syncer runs in this process's namespace, whose
    // nftables are not the test network's: node rules only with --node-rules, in its namespace.
    ...(nodeRules && net.ns
      ? { nodeRules: true, nftCommand: ["ip", "netns", "exec", net.ns, "nft"] }
      : { nodeRules: false }),
  };
}

async function benchB(net: TestNetwork, api: ApiServer, services: number, endpoints: number) {
  console.log(
    `\n(b) ${services} Services × ${endpoints} endpoints from a cold start vs one batched raw POST`,
  );
  const raw = createNftlbClient({ url: net.nftlb.url, key: net.nftlb.key, timeoutMs: 600_000 });
  const node = { name: "node-1", addresses: [] };
  const farms = [];
  for (let i = 0; i < services; i++) {
    const svc = service(`s${i}`, cip(100 + i));
    const sl = slice(`s${i}`, endpoints, i * endpoints);
    api.store.put(SVC, svc);
    api.store.put(SLICE, sl);
    farms.push(...desired(svc, [sl], node).farms);
  }
  await net.nftlb.restart();
  const t0 = performance.now();
  const w = await raw.upsertFarms(farms);
  const rawMs = performance.now() - t0;
  if (!w.ok) throw new Error(w.error.message);
  await net.nftlb.restart();
  const t1 = performance.now();
  const syncer = await startSyncer(config(net.nftlb), { log });
  await syncer.started;
  const syncMs = performance.now() - t1;
  await syncer.stop();
  console.log(
    `syncer (start → all programmed): ${ms(syncMs)} | raw POST: ${ms(rawMs)} | ratio ${(syncMs / rawMs).toFixed(2)}×`,
  );
  for (let i = 0; i < services; i++) {
    api.store.remove(SVC, "bench", `s${i}`);
    api.store.remove(SLICE, "bench", `s${i}-1`);
  }
  await net.nftlb.restart();
}

async function benchC(api: ApiServer) {
  console.log(
    "\n(c) syncer memory (in-process: heap and RSS growth after gc), nftlb replaced by an in-memory sink",
  );
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) console.log("(run with --expose-gc for stable heap figures)");
  for (const n of [1000, 10000]) {
    for (let i = 0; i < n; i++) {
      api.store.put(SVC, service(`m${i}`, cip(i)));
      api.store.put(SLICE, slice(`m${i}`, 10, (i * 10) % 60000));
    }
    gc?.();
    const before = process.memoryUsage();
    const sink = new FakeNftlb();
    const syncer = await startSyncer(config({ url: "http://127.0.0.1:1", key: "none" }), {
      log,
      wrapNftlb: () => sink,
    });
    await syncer.started;
    gc?.();
    const after = process.memoryUsage();
    console.log(
      `${String(n).padStart(6)} Services × 10 endpoints: heap +${((after.heapUsed - before.heapUsed) / 2 ** 20).toFixed(0)} MiB, ` +
        `RSS +${((after.rss - before.rss) / 2 ** 20).toFixed(0)} MiB (RSS now ${(after.rss / 2 ** 20).toFixed(0)} MiB, incl. the API stand-in and the sink's copy)`,
    );
    await syncer.stop();
    for (let i = 0; i < n; i++) {
      api.store.remove(SVC, "bench", `m${i}`);
      api.store.remove(SLICE, "bench", `m${i}-1`);
    }
  }
}

const skip = cannotBuildNetwork();
const refused = apiRefusals();
const api = await startApiServer({ historySize: 100_000, log: refused.log });
api.store.put(NODE, { apiVersion: "v1", kind: "Node", metadata: { name: "node-1" }, status: {} });
// The syncer runs as deploy/'s ServiceAccount with deploy/'s RBAC, as in the lab.
const syncerKubeconfig = await deploySyncerKubeconfig(api);
let net: TestNetwork | undefined;
try {
  if ((want("a") || want("b")) && skip) console.log(`(a) and (b) skipped: ${skip}`);
  else if (want("a") || want("b")) net = await createTestNetwork({ backends: 1 });
  if (net && want("a")) await benchLatency(net, api, config(net.nftlb), { log });
  // 400 × 10 = 4,000 backends: the most that fits nftlb's 4,095 marks with round numbers;
  // 1,000 × 10 would exceed it (and take nftlb ~700 s).
  if (net && want("b")) await benchB(net, api, 400, 10);
  if (want("c")) await benchC(api);
  refused.check();
} finally {
  await net?.destroy();
  await api.stop();
}
