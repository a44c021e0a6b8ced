// The syncer's memory as an operator sees it: the real `kube-nftlb syncer` CLI in its own process,
// its RSS read from /proc once it is ready and settled, for 0 (baseline), 1,000 and 10,000
// Services × 10 endpoints. Settled: every farm is in the sink (kube-nftlb assigns the backend
// marks, so nftlb has no node-wide backend limit any more). Prints, never asserts. No root, no namespace:
// `node bench/syncer-memory.ts [--sources] [--glibc-defaults] [--heap-snapshot DIR] [--idle-seconds S]
// [--endpoints E] [N ...]` (bench/lib/memory-args.ts) or
// `npm run bench -- syncer-memory`. By default it runs the BUILT JavaScript as the image does
// (tsconfig.build.json compiled into node_modules/.cache, NODE_ENV=production, Node 24);
// `--sources` runs the TypeScript sources instead. `--heap-snapshot DIR` writes a V8 heap
// snapshot of each settled syncer (SIGUSR2) for attribution.
// The Kubernetes API is the lab stand-in (in this process). nftlb is replaced by an HTTP sink
// (bench/lib/nftlb-sink.ts) that lists farms as nftlb does, byte for byte; the real nftlb would
// need ~2.6 GiB for 10,000 farm addresses (bench/scale.ts). Where the RSS is (bench/lib/smaps.ts)
// is read at each phase of the cold start: the first write of more than 64 KiB coming in (the
// LISTs are in and planned), the last write answered, the last GET /farms answered (the
// read-back), and settled; then again after S s with nothing to do (default 6: the syncer gives
// its heap back once quiet, runtime/heap-trim.ts), which is the figure compared with the goal.
// BENCH_SYNCER_V8_FLAGS="--trace-gc ..." gives the syncer V8 flags NODE_OPTIONS refuses, and
// BENCH_SYNCER_STDOUT=FILE keeps its output (in FILE.N for N Services).
import { spawn, type ChildProcess } from "node:child_process";
import { appendFileSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import process from "node:process";
import { startApiServer } from "../lab/apiserver/index.ts";
import { findResource } from "../lab/apiserver/resources.ts";
import { deploySyncerKubeconfig } from "../lab/cluster/deploy-identities.ts";
import { cip, ip, service, slice } from "./lib/cluster-objects.ts";
import { until } from "../test/until.ts";
import { startSink, type SinkEvent } from "./lib/nftlb-sink.ts";
import { resident, type Resident } from "./lib/smaps.ts";
import { freePort, memory, metricsText, readyz, sample } from "./lib/syncer-probes.ts";
import { entry, mallocSetting } from "./lib/syncer-entry.ts";
import { memoryArgs } from "./lib/memory-args.ts";
import { peakOf, phases, printPhases, v8Of, type Sample } from "./lib/memory-phases.ts";
import { heapSnapshot } from "./lib/heap-snapshot.ts";
import { helpFromHeader } from "./lib/usage.ts";
import { apiRefusals } from "./lib/refusals.ts";

helpFromHeader(import.meta.url, process.argv.slice(2));

const root = path.join(path.dirname(new URL(import.meta.url).pathname), "..");
const SVC = findResource("", "v1", "services")!;
const SLICE = findResource("discovery.k8s.io", "v1", "endpointslices")!;
const NODE = findResource("", "v1", "nodes")!;
const NAMESPACE = findResource("", "v1", "namespaces")!;
const opts = memoryArgs(process.argv.slice(2));
const KEY = `bench-${process.pid}-${Math.random().toString(36).slice(2)}`;
const TIMEOUT_MS = 600_000;
const V8_FLAGS = process.env.BENCH_SYNCER_V8_FLAGS?.split(" ").filter(Boolean) ?? [];
const STDOUT = process.env.BENCH_SYNCER_STDOUT;

const refusals = async (port: number) =>
  sample(await metricsText(port), "kube_nftlb_capacity_refusals_total");

/** Polls `cond` every 100 ms until it holds; fails if the child dies or the deadline passes. */
const untilAlive = (what: string, child: ChildProcess, cond: () => boolean | Promise<boolean>) =>
  until(what, cond, {
    timeoutMs: TIMEOUT_MS,
    intervalMs: 100,
    stopIf: () => (child.exitCode === null ? undefined : `syncer exited (${child.exitCode})`),
  });

const run = entry({ root, sources: opts.sources, glibcDefaults: opts.glibcDefaults });
const mallocShown = () =>
  Object.entries(run.env)
    .filter(([name]) => mallocSetting(name))
    .map(([name, v]) => `${name}=${v}`)
    .join(" ") || "glibc defaults";

const dir = mkdtempSync(path.join(tmpdir(), "kube-nftlb-bench-"));
const keyFile = path.join(dir, "nftlb-key");
writeFileSync(keyFile, `${KEY}\n`, { mode: 0o600 });
const refused = apiRefusals();
const api = await startApiServer({ historySize: 100_000, log: refused.log });
api.store.put(NODE, { apiVersion: "v1", kind: "Node", metadata: { name: "node-1" }, status: {} });
// The syncer runs as deploy/'s ServiceAccount with deploy/'s RBAC, as in the lab.
const syncerKubeconfig = await deploySyncerKubeconfig(api);
// The syncer's Warning Events (capacity refusals) need their namespace to exist.
api.store.put(NAMESPACE, { apiVersion: "v1", kind: "Namespace", metadata: { name: "bench" } });
// The sink's requests, as they come and are answered, for the phases of the cold start.
let onSink: SinkEvent = () => {};
const sink = await startSink(KEY, (kind, phase, bytes) => onSink(kind, phase, bytes));

/**
 * Service m0 gets `k` endpoints more (new addresses, its others kept): ms from the API write to
 * the sink's answer to the POST that carries them.
 */
function oneChange(n: number, k: number): Promise<number> {
  const farm = () => [...sink.farms.values()].find((f) => f.name.startsWith("bench.m0."));
  const changed = slice("m0", opts.endpoints, 0);
  for (let i = 0; i < k; i++)
    changed.endpoints.push({ addresses: [ip(n * opts.endpoints + i)], conditions: { ready: true } });
  return new Promise((resolve, reject) => {
    const before = onSink;
    const t = performance.now();
    const late = setTimeout(
      () => reject(new Error(`no POST of ${opts.endpoints + k} backends within 60 s`)),
      60_000,
    );
    onSink = (kind, phase, bytes) => {
      before(kind, phase, bytes);
      if (kind !== "POST /farms" || phase !== "out" || (farm()?.backends?.length ?? 0) < opts.endpoints + k)
        return;
      onSink = before;
      clearTimeout(late);
      resolve(performance.now() - t);
    };
    api.store.put(SLICE, changed);
  });
}

async function measure(n: number) {
  for (let i = 0; i < n; i++) {
    api.store.put(SVC, service(`m${i}`, cip(i)));
    api.store.put(SLICE, slice(`m${i}`, opts.endpoints, i * opts.endpoints));
  }
  const port = await freePort();
  const t0 = performance.now();
  const snapshots = opts.snapshots;
  const child = spawn(
    path.join(root, "node_modules/.bin/node"),
    [
      ...(snapshots ? ["--heapsnapshot-signal=SIGUSR2", `--diagnostic-dir=${snapshots}`] : []),
      ...V8_FLAGS,
      ...[...run.argv, "syncer", "--kubeconfig", syncerKubeconfig, "--nftlb-url", sink.url],
      ...["--nftlb-key-file", keyFile, "--node-name", "node-1", "--probe-port", String(port)],
      // A sink, not a node: no nftables table of its own in this namespace.
      "--node-rules=off",
      ...["--resync-period", "1h", "--nftlb-probe-period", "1h", "--log-level", "warn"],
      // No kube-proxy health port (0.0.0.0:10256 by default): nothing here probes it.
      "--healthz-bind-address=",
    ],
    { cwd: root, env: run.env, stdio: ["ignore", "pipe", "inherit"] },
  );
  const events: Sample[] = [];
  const reads: Sample[] = [];
  const at = (label: string): Sample => ({ label, t: performance.now(), r: resident(child.pid!) });
  // Reading smaps costs the kernel milliseconds: not at each of the thousands of one-farm reads.
  // The first write: the first POST of more than a few farms (not the syncer's sentinel farm).
  onSink = (kind, phase, bytes) => {
    const first =
      phase === "in" &&
      kind === "POST /farms" &&
      bytes > 64 * 1024 &&
      !events.some((e) => e.label === "POST /farms in");
    const wanted = first || (phase === "out" && (kind === "POST /farms" || kind === "GET /farms"));
    if (wanted && child.exitCode === null) events.push(at(`${kind} ${phase}`));
  };
  // V8's figures once a second while it starts (the syncer answers /metrics between its work).
  let polling = true;
  const poll = (async () => {
    while (polling) {
      const text = await metricsText(port);
      if (text && child.exitCode === null) reads.push({ ...at("metrics"), v8: v8Of(text) });
      await new Promise((r) => setTimeout(r, 1000));
    }
  })();
  let tail = "";
  child.stdout.on("data", (c: Buffer) => {
    tail = (tail + c.toString()).slice(-4000);
    if (STDOUT) appendFileSync(`${STDOUT}.${n}`, c);
  });
  try {
    // Without --nftlb-memory-limit the syncer refuses nothing: settled once every farm is in the sink.
    const ours = () => [...sink.farms.keys()].filter((f) => f.startsWith("bench.")).length;
    await untilAlive("/readyz 200", child, () => readyz(port));
    await untilAlive(`${n} farms in the sink`, child, () => ours() === n);
    // A labelled counter with no refusal yet has no sample (-1).
    await untilAlive("no refusal", child, async () => Math.max(0, await refusals(port)) === 0);
    const seconds = (performance.now() - t0) / 1000;
    polling = false;
    await poll;
    const mem = memory(child.pid!);
    const settled: Sample = { ...at("settled"), v8: v8Of(await metricsText(port)) };
    const split = n === 0 || events.length === 0 ? [settled] : phases(events, reads, settled);
    // Nothing to do from here on: a bench's wait, not a condition (what is read is what a node keeps).
    if (opts.idleSeconds > 0) await new Promise((r) => setTimeout(r, opts.idleSeconds * 1000));
    const quiet: Sample = { ...at(`${opts.idleSeconds} s quiet`), v8: v8Of(await metricsText(port)) };
    const rows = [...split, quiet].map((p) => ({ ...p, t: (p.t - t0) / 1000 }));
    const idle = memory(child.pid!).rss;
    // What a trim costs the next change: two changes after the quiet spell, each timed.
    const changes = n === 0 ? [] : [await oneChange(n, 1), await oneChange(n, 2)];
    if (snapshots)
      console.log(
        `  heap snapshot: ${await heapSnapshot(child, snapshots, (w, c) => untilAlive(w, child, c))}`,
      );
    return {
      changes,
      seconds,
      ...mem,
      v8: settled.v8!,
      quiet: quiet.v8!,
      idle,
      rows,
      peaks: peakOf([...events, ...reads, ...rows]),
    };
  } catch (err) {
    if (tail) console.error(`syncer output (last lines):\n${tail}`);
    throw err;
  } finally {
    polling = false;
    onSink = () => {};
    const exited = new Promise((r) => child.once("exit", r));
    if (child.exitCode === null) child.kill("SIGTERM");
    await exited;
    for (let i = 0; i < n; i++) {
      api.store.remove(SVC, "bench", `m${i}`);
      api.store.remove(SLICE, "bench", `m${i}-1`);
    }
    sink.farms.clear();
    const { requests, largestIn, largestOut } = sink.stats;
    if (n > 0)
      console.log(
        `  nftlb requests: ${[...requests].map(([k, c]) => `${k} ${c}`).join(", ")}; largest body sent ` +
          `${(largestIn / 2 ** 20).toFixed(1)} MiB, largest answer ${(largestOut / 2 ** 20).toFixed(1)} MiB`,
      );
    requests.clear();
    sink.stats.largestIn = sink.stats.largestOut = 0;
  }
}

try {
  console.log(
    `syncer memory: \`kube-nftlb syncer\` as a child process (${opts.sources ? "TypeScript sources" : "built JavaScript, NODE_ENV=production"}, Node ${process.versions.node}, NODE_OPTIONS=${JSON.stringify(run.env.NODE_OPTIONS)}, malloc ${mallocShown()}${V8_FLAGS.length > 0 ? `, V8 flags ${V8_FLAGS.join(" ")}` : ""}), lab API stand-in, HTTP sink (not nftlb);\n` +
      `RSS from /proc/PID/status once /readyz is 200 and every farm is in the sink (settled), and ${opts.idleSeconds} s later with nothing to do (quiet)`,
  );
  console.log(
    `every Service has ${opts.endpoints} endpoints; the syncer writes every farm (no nftlb memory limit given)`,
  );
  console.log(
    "Services | RSS settled | RSS quiet | peak MiB | above idle, quiet (goal ≤ 150 MiB) | above idle, settled | start → settled | heap used / total settled, quiet MiB",
  );
  let base: { settled: number; quiet: number } | undefined;
  const splits: [number, Sample[], Resident][] = [];
  for (const n of [0, ...opts.sizes.filter((s) => s > 0)]) {
    const m = await measure(n);
    base ??= { settled: m.rss, quiet: m.idle };
    const above = (rss: number, from: number) =>
      n === 0 ? "(idle)" : `+${(rss - from).toFixed(0)} MiB (${((rss - from) / 150).toFixed(2)}×)`;
    const heap = (v: { used: number; total: number }) => `${v.used.toFixed(0)} / ${v.total.toFixed(0)}`;
    console.log(
      `${n.toLocaleString("en").padStart(8)} | ${m.rss.toFixed(0).padStart(11)} | ${m.idle.toFixed(0).padStart(9)} | ` +
        `${m.peak.toFixed(0).padStart(8)} | ${above(m.idle, base.quiet).padStart(34)} | ${above(m.rss, base.settled).padStart(19)} | ` +
        `${`${m.seconds.toFixed(1)} s`.padStart(15)} | ${heap(m.v8)}, ${heap(m.quiet)}`,
    );
    if (m.changes.length > 0)
      console.log(
        `${"".padStart(8)} | after the quiet spell, one endpoint added to a Service: ${m.changes.map((ms) => `${ms.toFixed(0)} ms`).join(", then ")} (API write → its POST answered)`,
      );
    splits.push([n, m.rows, m.peaks]);
  }
  printPhases(splits);
  refused.check();
} finally {
  await sink.close();
  await api.stop();
  rmSync(dir, { recursive: true, force: true });
}
