// Cold start from `kubectl apply` in the lab (issue 14), printed next to its floor, never
// pass/fail: the lab as `npm run lab -- up` starts it (the API stand-in, the webhook and the
// syncer as deploy/ runs them, the real nftlb), then the real `kubectl apply -f` of N
// selector-less Services with one EndpointSlice of 10 ready endpoints each, timed from kubectl's
// start until every farm is written and read back by the syncer and its chain is in nftlb's
// kernel tables. Floor: one raw POST of the same farms (as the syncer would send them to an empty
// nftlb) on a fresh nftlb, in the same run. Needs root: `npm run bench -- lab-scale` or
// `node bench/lab-scale.ts [N] [options]`.
//   N                        Services × 10 endpoints (1000)
//   --with-nftlb-marks       also one raw POST of the farms with nftlb picking the marks
//                            (about 700 s at 1,000 × 10, and most farms never reach the kernel)
//   --nftlb-memory-limit Q   the nftlb container's limits.memory the syncer is told (default:
//                            deploy/'s 384Mi, or the operators' sizing rule of docs/operators.md
//                            when N needs more: 384Mi holds 1,000 Services of 10 endpoints)
//   --timeout-s S            give up waiting for the farms after S seconds (1800)
//   --server-side            `kubectl apply --server-side` (one apply PATCH per object instead of
//                            kubectl's GET, GET namespace, POST)
// The Services' endpoints are EndpointSlices the bench writes, not Pods: 10,000 Pods would be
// 10,000 network namespaces, and Pods are not what is measured here.
import { spawn } from "node:child_process";
import {
  closeSync,
  existsSync,
  fstatSync,
  mkdtempSync,
  openSync,
  readSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import os from "node:os";
import path from "node:path";
import process from "node:process";
import { startCluster, type Cluster } from "../lab/cluster/cluster.ts";
import { portOf, webhookArgs } from "../lab/cluster/deploy-args.ts";
import { findResource } from "../lab/apiserver/resources.ts";
import { cannotBuildNetwork, createTestNetwork } from "../lab/net/index.ts";
import { SERVICE_NAME_LABEL } from "../kube/labels.ts";
import { DEFAULT_SCOPE } from "../annotations/balanced.ts";
import { serializeFarms, type FarmPatch } from "../nftlb/index.ts";
import { desired } from "../syncer/desired.ts";
import { plan } from "../syncer/plan.ts";
import { estimateMemory } from "../syncer/capacity.ts";
import type { TraceEvent } from "../syncer/trace.ts";
import { until } from "../test/until.ts";
import { rawPost } from "./lib/raw-post.ts";
import { helpFromHeader } from "./lib/usage.ts";
import { farmName, manifest, NAMESPACE, serviceName } from "./lib/lab-scale-objects.ts";
import { parseApiLine, passes, stages, type ApiRequest } from "./lib/lab-scale-stages.ts";
import { countChains } from "./lib/nft-chains.ts";

const args = process.argv.slice(2);
helpFromHeader(import.meta.url, args);
const option = (name: string) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};
const N = Number(args.find((a) => /^\d+$/.test(a)) ?? 1000);
const E = 10;
const TIMEOUT_MS = Number(option("--timeout-s") ?? 1800) * 1000;
// deploy/'s 384Mi, or more by the operators' rule (docs/operators.md: the estimate plus 20%)
// when N needs it; +1 farm: the webhook's.
const MEMORY =
  option("--nftlb-memory-limit") ??
  `${Math.max(384, Math.ceil((estimateMemory(N + 1, N * E + 1) * 1.2) / 2 ** 20))}Mi`;
const s = (ms: number) => (ms >= 10_000 ? `${(ms / 1000).toFixed(1)} s` : `${ms.toFixed(0)} ms`);
const SVC = findResource("", "v1", "services")!;
const SLICE = findResource("discovery.k8s.io", "v1", "endpointslices")!;

const why = cannotBuildNetwork();
if (why !== undefined) {
  console.log(`lab-scale: skipped: ${why}`);
  process.exit(0);
}

/** The webhook's own time in admission (its histogram's sum and count, all paths). */
const webhookTime = async (c: Cluster) => {
  const probe = portOf(webhookArgs({ tlsDir: "" }), "--probe-port", 8080);
  const text = await (await fetch(`http://${new URL(c.info.webhook.url).hostname}:${probe}/metrics`)).text();
  const total = (suffix: string) =>
    [
      ...text.matchAll(
        new RegExp(`^kube_nftlb_webhook_admission_duration_seconds_${suffix}\\{[^}]*\\} (\\S+)$`, "gm"),
      ),
    ]
      .map((m) => Number(m[1]))
      .reduce((a, b) => a + b, 0);
  return { seconds: total("sum"), calls: total("count") };
};

const kubectl = (kubeconfig: string, argv: string[]) =>
  new Promise<{ code: number; out: string; err: string }>((resolve) => {
    const c = spawn("kubectl", ["--kubeconfig", kubeconfig, ...argv], { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    let err = "";
    c.stdout.on("data", (d: Buffer) => (out += d.toString()));
    c.stderr.on("data", (d: Buffer) => (err += d.toString()));
    c.on("close", (code) => resolve({ code: code ?? 1, out, err }));
  });

/** The syncer's trace so far (JSON lines, epoch clock) on this process's clock. */
/**
 * The syncer's trace so far (JSON lines, epoch clock) on this process's clock, read on from where
 * the last call stopped: a look costs the new lines, not the whole file again.
 */
function traceReader(file: string): () => TraceEvent[] {
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
function allSynced(trace: readonly TraceEvent[], keys: readonly string[], since: number): number | undefined {
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

/** The farms the syncer would POST to an empty nftlb for the Services the stand-in stored. */
function floorFarms(c: Cluster): FarmPatch[] {
  const slices = c.api.store.list(SLICE, NAMESPACE);
  const node = { name: c.info.node.name, addresses: [c.info.node.addresses.InternalIP] };
  const farms = c.api.store.list(SVC, NAMESPACE).flatMap((svc) => {
    const mine = slices.filter((sl) => sl.metadata.labels?.[SERVICE_NAME_LABEL] === svc.metadata.name);
    return desired(svc, mine, node, { scope: DEFAULT_SCOPE }).farms;
  });
  return plan(farms, [], { owns: () => true }).upserts;
}

const withoutMarks = (farms: FarmPatch[]): FarmPatch[] =>
  farms.map(({ mark: _farm, ...f }) => ({
    ...f,
    backends: (f.backends ?? []).map(({ mark: _b, ...b }) => b),
  }));

const dir = mkdtempSync(path.join(os.tmpdir(), "kube-nftlb-lab-scale-"));
const traceFile = path.join(dir, "syncer-trace.jsonl");
const readTrace = traceReader(traceFile);
const api: ApiRequest[] = [];
let cluster: Cluster | undefined;
try {
  const t = performance.now();
  cluster = await startCluster({
    dir,
    nftlbMemoryLimit: MEMORY,
    syncerEnv: { KUBE_NFTLB_SYNCER_TRACE_FILE: traceFile },
    // kube-apiserver's watch cache grows to hold ~75 s of events (up to 102,400 per resource);
    // the stand-in's default 1,000 would answer a resumed watch 410 where the real one resumes.
    apiHistorySize: 102_400,
    apiLog: (line) => {
      const r = parseApiLine(performance.now(), line);
      if (r) api.push(r);
    },
  });
  const c = cluster;
  console.log(
    `lab up in ${s(performance.now() - t)}; nftlb 1.0.7; ${N} Services × ${E} endpoints; nftlb memory limit told to the syncer: ${MEMORY}; load average ${os
      .loadavg()
      .map((x) => x.toFixed(1))
      .join(" ")}`,
  );
  const kc = c.info.kubeconfig;
  const made = await kubectl(kc, ["create", "namespace", NAMESPACE]);
  if (made.code !== 0) throw new Error(`kubectl create namespace: ${made.err}`);
  const file = path.join(dir, "services.yaml");
  writeFileSync(file, manifest(N, E));

  const stored = new Map<string, number>();
  c.api.store.subscribe((e) => {
    if (e.type === "ADDED" && e.object.metadata.namespace === NAMESPACE && (e.res === SVC || e.res === SLICE))
      stored.set(`${e.res === SVC ? "service" : "slice"}/${e.object.metadata.name}`, performance.now());
  });
  const keys = Array.from({ length: N }, (_, i) => `${NAMESPACE}/${serviceName(i)}`);
  const hookBefore = await webhookTime(c);
  const start = performance.now();
  const applied = await kubectl(kc, [
    "apply",
    ...(args.includes("--server-side") ? ["--server-side"] : []),
    "-f",
    file,
  ]);
  const exited = performance.now();
  if (applied.code !== 0) throw new Error(`kubectl apply: ${applied.err.slice(0, 2000)}`);
  const kubectlSays = applied.err.trim();
  const synced = await until(
    "every farm written and read back by the syncer",
    () => allSynced(readTrace(), keys, start),
    {
      timeoutMs: TIMEOUT_MS,
      intervalMs: 50,
    },
  );
  // The kernel: every farm's nat chain in nftlb's namespace, looked at from when the syncer was
  // done; the end is the start of the first look that found them all.
  let end = synced;
  for (;;) {
    const looked = performance.now();
    const chains = await countChains(c.info.nftlb.netns, /chain nat-scale\.s\d+\.http \{/g);
    if (chains >= N) {
      end = Math.max(synced, looked);
      break;
    }
    if (performance.now() - start > TIMEOUT_MS) throw new Error(`only ${chains} of ${N} farms in the kernel`);
  }
  const total = end - start;

  // nftlb, once: every farm with its 10 backends up (not timed: a GET of everything blocks nftlb).
  const got = await fetch(`${c.info.nftlb.url}/farms`, { headers: { Key: c.info.nftlb.key } });
  const all = ((await got.json()) as { farms?: { farmname?: string; name?: string }[] }).farms ?? [];
  const ours = new Set(
    all.map((f) => f.farmname ?? f.name ?? "").filter((n) => n.startsWith(`${NAMESPACE}.`)),
  );
  const missing = Array.from({ length: N }, (_, i) => farmName(i)).filter((f) => !ours.has(f));
  const trace = readTrace();
  const hookAfter = await webhookTime(c);
  const hook = {
    calls: hookAfter.calls - hookBefore.calls,
    ms: (hookAfter.seconds - hookBefore.seconds) * 1000,
  };
  const farms = floorFarms(c);
  await c.stop();
  cluster = undefined;

  // The floor: one raw POST of the same farms on a fresh nftlb.
  const net = await createTestNetwork({ backends: 0 });
  try {
    const body = serializeFarms(farms);
    const t0 = performance.now();
    const status = await rawPost(net.nftlb.url, net.nftlb.key, body);
    const floor = performance.now() - t0;
    if (status !== 200) throw new Error(`raw POST: HTTP ${status}`);
    const floorChains = await countChains(net.nftlb.ns, /chain nat-scale\.s\d+\.http \{/g);
    console.log(
      `${"".padEnd(52)} | ${"lab".padStart(8)} | ${"floor".padStart(8)} (one raw POST, client marks) | ratio`,
    );
    console.log(
      `${`cold start from kubectl apply, ${N} × ${E}`.padEnd(52)} | ${s(total).padStart(8)} | ${s(floor).padStart(8)} ${"".padEnd(21)} | ${(total / floor).toFixed(2)}×`,
    );
    console.log(
      `  farms: in nftlb ${N - missing.length} of ${N}${missing.length ? ` (missing e.g. ${missing.slice(0, 3).join(", ")})` : ""}; in the kernel ${N} of ${N}; after the raw POST ${floorChains} of ${N} (body ${(Buffer.byteLength(body) / 2 ** 20).toFixed(1)} MiB)`,
    );
    if (process.env.LAB_SCALE_PATHS)
      for (const r of api.filter((x) => x.at >= start && x.at <= exited))
        console.log(`    ${r.method} ${r.path} ${r.status} ${r.ms}ms`);
    if (kubectlSays) console.log(`  kubectl's stderr: ${kubectlSays.split("\n").slice(0, 3).join(" | ")}`);
    console.log(
      `  admission webhook: ${hook.calls} calls, ${s(hook.ms)} in the webhook's own handler (${(hook.ms / Math.max(1, hook.calls)).toFixed(2)} ms each; the rest of a Service's create over an EndpointSlice's is the call's way there and back: the stand-in, its CONNECT proxy, the ClusterIP)`,
    );
    for (const line of stages(
      { start, exited, stored, synced, end },
      api,
      trace,
      (o) => `${NAMESPACE}/${o.split("/")[1]!.replace(/-1$/, "")}`,
    ))
      console.log(`  ${line}`);
    if (args.includes("--with-nftlb-marks")) {
      await net.nftlb.restart();
      const t1 = performance.now();
      const st = await rawPost(net.nftlb.url, net.nftlb.key, serializeFarms(withoutMarks(farms)));
      const own = performance.now() - t1;
      console.log(
        `raw POST with nftlb's own marks: ${s(own)} (HTTP ${st}; the lab ${(total / own).toFixed(2)}× it); farms in the kernel: ${await countChains(net.nftlb.ns, /chain nat-scale\.s\d+\.http \{/g)} of ${N}`,
      );
    }
    console.log(
      `load average after: ${os
        .loadavg()
        .map((x) => x.toFixed(1))
        .join(" ")}`,
    );
  } finally {
    await net.destroy();
  }
} finally {
  await cluster?.stop();
  rmSync(dir, { recursive: true, force: true });
}
