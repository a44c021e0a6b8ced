// The syncer's memory as an operator sees it: the real `kube-nftlb syncer` CLI in its own process,
// its RSS read from /proc once it is ready and settled, for 0 (baseline), 1,000 and 10,000
// Services × 10 endpoints. Settled: every farm is in the sink (kube-nftlb assigns the backend
// marks, so nftlb has no node-wide backend limit any more). Prints, never asserts. No root, no namespace:
// `node bench/syncer-memory.ts [--sources] [--glibc-defaults] [--heap-snapshot DIR] [--endpoints E] [N ...]` or
// `npm run bench -- syncer-memory`. By default it runs the BUILT JavaScript as the image does
// (tsconfig.build.json compiled into node_modules/.cache, NODE_ENV=production, Node 24);
// `--sources` runs the TypeScript sources instead. `--heap-snapshot DIR` writes a V8 heap
// snapshot of each settled syncer (SIGUSR2) for attribution.
// The Kubernetes API is the lab stand-in (in this process). nftlb is replaced by an HTTP sink
// (bench/lib/nftlb-sink.ts) that lists farms as nftlb does, byte for byte; the real nftlb would
// need ~2.6 GiB for 10,000 farm addresses (bench/scale.ts). Where the RSS is (bench/lib/smaps.ts)
// is read at each phase of the cold start: the first write of more than 64 KiB coming in (the
// LISTs are in and planned), the last write answered, the last GET /farms answered (the
// read-back), and settled.
import { spawn, type ChildProcess } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import process from "node:process";
import { startApiServer } from "../lab/apiserver/index.ts";
import { findResource } from "../lab/apiserver/resources.ts";
import { cip, service, slice } from "./lib/cluster-objects.ts";
import { until } from "../test/until.ts";
import { startSink, type SinkEvent } from "./lib/nftlb-sink.ts";
import { resident, type Resident } from "./lib/smaps.ts";
import { freePort, memory, metricsText, readyz, sample } from "./lib/syncer-probes.ts";
import { entry, mallocSetting } from "./lib/syncer-entry.ts";

const root = path.join(path.dirname(new URL(import.meta.url).pathname), "..");
const SVC = findResource("", "v1", "services")!;
const SLICE = findResource("discovery.k8s.io", "v1", "endpointslices")!;
const NODE = findResource("", "v1", "nodes")!;
const NAMESPACE = findResource("", "v1", "namespaces")!;
// `[--endpoints E] [N ...]`: endpoints per Service (default 10) and the Service counts.
const args = process.argv.slice(2);
const flag = (name: string) => {
  const i = args.indexOf(name);
  return i >= 0 ? (args.splice(i, 1), true) : false;
};
const SOURCES = flag("--sources");
// `--glibc-defaults`: without the DaemonSet's malloc settings (to compare with them). Not by an
// empty variable: glibc would read MALLOC_MMAP_THRESHOLD_= as 0 in the bench's own process.
const GLIBC_DEFAULTS = flag("--glibc-defaults");
const snapAt = args.indexOf("--heap-snapshot");
const SNAPSHOTS = snapAt >= 0 ? args.splice(snapAt, 2)[1] : undefined;
if (snapAt >= 0 && !SNAPSHOTS) {
  console.error("--heap-snapshot needs a directory");
  process.exit(2);
}
if (SNAPSHOTS) mkdirSync(SNAPSHOTS, { recursive: true });
// `--idle-seconds S`: read the RSS again after S s with nothing to do (V8 gives memory back late).
const idleAt = args.indexOf("--idle-seconds");
const IDLE_S = idleAt >= 0 ? Number(args.splice(idleAt, 2)[1]) : 0;
if (!Number.isFinite(IDLE_S) || IDLE_S < 0) {
  console.error("--idle-seconds takes a number of seconds");
  process.exit(2);
}
const at = args.indexOf("--endpoints");
const ENDPOINTS = at >= 0 ? Number(args.splice(at, 2)[1]) : 10;
const SIZES = args.map(Number);
const sizes = SIZES.length > 0 ? SIZES : [1000, 10000];
const count = (n: number, max: number) => Number.isInteger(n) && n >= 0 && n <= max;
if (!count(ENDPOINTS, 1000) || !SIZES.every((n) => count(n, 60_000))) {
  console.error("usage: node bench/syncer-memory.ts [--endpoints 0..1000] [SERVICES ...]");
  process.exit(2);
}
const KEY = `bench-${process.pid}-${Math.random().toString(36).slice(2)}`;
const TIMEOUT_MS = 600_000;

/** A port free right now, for the syncer's --probe-port (its log does not say which port 0 got). */
const refusals = async (port: number) =>
  sample(await metricsText(port), "kube_nftlb_capacity_refusals_total");

/** Polls `cond` every 100 ms until it holds; fails if the child dies or the deadline passes. */
const untilAlive = (what: string, child: ChildProcess, cond: () => boolean | Promise<boolean>) =>
  until(what, cond, {
    timeoutMs: TIMEOUT_MS,
    intervalMs: 100,
    stopIf: () => (child.exitCode === null ? undefined : `syncer exited (${child.exitCode})`),
  });

const run = entry({ root, sources: SOURCES, glibcDefaults: GLIBC_DEFAULTS });
const mallocShown = () =>
  Object.entries(run.env)
    .filter(([name]) => mallocSetting(name))
    .map(([name, v]) => `${name}=${v}`)
    .join(" ") || "glibc defaults";

/** SIGUSR2 → the child writes Heap.*.heapsnapshot into SNAPSHOTS; resolves once it is complete. */
async function snapshot(child: ChildProcess) {
  const before = new Set(readdirSync(SNAPSHOTS!));
  child.kill("SIGUSR2");
  const fresh = () => readdirSync(SNAPSHOTS!).find((f) => f.endsWith(".heapsnapshot") && !before.has(f));
  // Complete when its size stops changing between two polls.
  let last = -1;
  await untilAlive("a heap snapshot", child, () => {
    const f = fresh();
    if (f === undefined) return false;
    const size = statSync(path.join(SNAPSHOTS!, f)).size;
    const done = size > 0 && size === last;
    last = size;
    return done;
  });
  console.log(`  heap snapshot: ${path.join(SNAPSHOTS!, fresh()!)}`);
}

const dir = mkdtempSync(path.join(tmpdir(), "kube-nftlb-bench-"));
const keyFile = path.join(dir, "nftlb-key");
writeFileSync(keyFile, `${KEY}\n`, { mode: 0o600 });
const api = await startApiServer({ historySize: 100_000 });
api.store.put(NODE, { apiVersion: "v1", kind: "Node", metadata: { name: "node-1" }, status: {} });
// The syncer's Warning Events (capacity refusals) need their namespace to exist.
api.store.put(NAMESPACE, { apiVersion: "v1", kind: "Namespace", metadata: { name: "bench" } });
// The sink's requests, as they come and are answered, for the phases of the cold start.
let onSink: SinkEvent = () => {};
const sink = await startSink(KEY, (kind, phase, bytes) => onSink(kind, phase, bytes));

type Sample = {
  label: string;
  t: number;
  r: Resident;
  v8?: { total: number; used: number; external: number };
};
/** The syncer's V8 heap from its /metrics (MiB), -1 where a figure is missing. */
const v8Of = (text: string) => {
  const mib = (name: string) => sample(text, `kube_nftlb_syncer_nodejs_${name}`) / 2 ** 20;
  return {
    used: mib("heap_size_used_bytes"),
    total: mib("heap_size_total_bytes"),
    external: mib("external_memory_bytes"),
  };
};
/** The phases of one cold start from its samples: the V8 figures are the /metrics read nearest in time. */
function phases(events: Sample[], reads: Sample[], settled: Sample): Sample[] {
  const lastOut = (kind: string) => events.findLast((e) => e.label === `${kind} out`);
  const post = lastOut("POST /farms");
  const get = lastOut("GET /farms");
  const picked = [
    ...events.filter((e) => e.label === "POST /farms in").map((e) => ({ ...e, label: "first write sent" })),
    ...(post ? [{ ...post, label: "last write answered" }] : []),
    ...(get && (!post || get.t > post.t) ? [{ ...get, label: "read-back sent" }] : []),
    settled,
  ];
  return picked.map((p) => {
    const near = reads.reduce<Sample | undefined>(
      (best, m) => (Math.abs(m.t - p.t) < Math.abs((best?.t ?? Infinity) - p.t) ? m : best),
      undefined,
    );
    return p.v8 || !near || Math.abs(near.t - p.t) > 1500 ? p : { ...p, v8: near.v8 };
  });
}

async function measure(n: number) {
  for (let i = 0; i < n; i++) {
    api.store.put(SVC, service(`m${i}`, cip(i)));
    api.store.put(SLICE, slice(`m${i}`, ENDPOINTS, i * ENDPOINTS));
  }
  const port = await freePort();
  const t0 = performance.now();
  const child = spawn(
    path.join(root, "node_modules/.bin/node"),
    [
      ...(SNAPSHOTS ? ["--heapsnapshot-signal=SIGUSR2", `--diagnostic-dir=${SNAPSHOTS}`] : []),
      ...[...run.argv, "syncer", "--kubeconfig", api.kubeconfigPath, "--nftlb-url", sink.url],
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
  const peak: Resident = { rss: 0, brk: 0, arenas: 0, anon: 0, files: 0, other: 0 };
  const at = (label: string): Sample => {
    const r = resident(child.pid!);
    for (const k of Object.keys(peak) as (keyof Resident)[]) peak[k] = Math.max(peak[k], r[k]);
    return { label, t: performance.now(), r };
  };
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
  child.stdout.on("data", (c: Buffer) => (tail = (tail + c.toString()).slice(-4000)));
  try {
    // Without --nftlb-memory-limit the syncer refuses nothing: settled once every farm is in the sink.
    const programmed = n;
    const ours = () => [...sink.farms.keys()].filter((f) => f.startsWith("bench.")).length;
    await untilAlive("/readyz 200", child, () => readyz(port));
    await untilAlive(`${programmed} farms in the sink`, child, () => ours() === programmed);
    // A labelled counter with no refusal yet has no sample (-1).
    await untilAlive(
      `${n - programmed} refusals`,
      child,
      async () => Math.max(0, await refusals(port)) === n - programmed,
    );
    const seconds = (performance.now() - t0) / 1000;
    polling = false;
    await poll;
    const mem = memory(child.pid!);
    const settled: Sample = { ...at("settled"), v8: v8Of(await metricsText(port)) };
    const v8 = settled.v8!;
    const split = n === 0 || events.length === 0 ? [settled] : phases(events, reads, settled);
    const rows = split.map((p) => ({ ...p, t: (p.t - t0) / 1000 }));
    if (IDLE_S > 0) await new Promise((r) => setTimeout(r, IDLE_S * 1000));
    const idle = memory(child.pid!).rss;
    if (SNAPSHOTS) await snapshot(child);
    return { n, programmed, seconds, ...mem, v8, idle, rows, peaks: peak };
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
    `syncer memory: \`kube-nftlb syncer\` as a child process (${SOURCES ? "TypeScript sources" : "built JavaScript, NODE_ENV=production"}, Node ${process.versions.node}, NODE_OPTIONS=${JSON.stringify(run.env.NODE_OPTIONS)}, malloc ${mallocShown()}), lab API stand-in, HTTP sink (not nftlb);\n` +
      "RSS read from /proc/PID/status once /readyz is 200, the written farms are in the sink and the rest refused",
  );
  console.log(
    `every Service has ${ENDPOINTS} endpoints; the syncer writes every farm (no nftlb memory limit given)`,
  );
  console.log(
    "Services | farms written |  RSS MiB | peak MiB | above idle (goal ≤ 150 MiB) | per Service | start → settled | heap used / total, external MiB",
  );
  let base: number | undefined;
  const splits: [number, { label: string; t: number; r: Resident; v8?: Sample["v8"] }[], Resident][] = [];
  for (const n of [0, ...sizes.filter((s) => s > 0)]) {
    const m = await measure(n);
    base ??= m.rss;
    const per = n === 0 ? "—" : `${(((m.rss - base) * 1024) / n).toFixed(1)} KiB`;
    const above = n === 0 ? "(idle)" : `+${(m.rss - base).toFixed(0)} MiB`;
    console.log(
      `${n.toLocaleString("en").padStart(8)} | ${m.programmed.toLocaleString("en").padStart(13)} | ` +
        `${m.rss.toFixed(0).padStart(8)} | ${m.peak.toFixed(0).padStart(8)} | ` +
        `${above.padStart(27)} | ${per.padStart(11)} | ${`${m.seconds.toFixed(1)} s`.padStart(15)} | ` +
        `${m.v8.used.toFixed(0)} / ${m.v8.total.toFixed(0)}, ${m.v8.external.toFixed(0)}` +
        (IDLE_S > 0 ? ` | RSS after ${IDLE_S} s idle: ${m.idle.toFixed(0)} MiB` : ""),
    );
    splits.push([n, m.rows, m.peaks]);
  }
  console.log(
    "\nwhere the RSS is (MiB; smaps: malloc's brk heap, its other arenas, other anonymous memory — V8's heap " +
      "among it —, files; V8's heap total, used and external from /metrics read within 1.5 s, — when none was):",
  );
  const f = (x: number) => x.toFixed(0).padStart(4);
  for (const [n, rows, peak] of splits) {
    for (const { label, t, r, v8 } of rows) {
      const heap = v8 ? `${f(v8.total)} ${f(v8.used)} ${f(v8.external)}` : "   —    —    —";
      const outside = v8 ? f(r.rss - v8.total) : "   —";
      console.log(
        `${n.toLocaleString("en").padStart(8)} | ${label.padEnd(19)} ${`${t.toFixed(1)} s`.padStart(7)} | RSS ${f(r.rss)} | ` +
          `brk ${f(r.brk)} arenas ${f(r.arenas)} anon ${f(r.anon)} files ${f(r.files)} | heap total/used/external ${heap} | RSS − heap total ${outside}`,
      );
    }
    if (n > 0)
      console.log(
        `${"".padStart(8)} | peak of each (sampled)      | RSS ${f(peak.rss)} | brk ${f(peak.brk)} arenas ${f(peak.arenas)} anon ${f(peak.anon)} files ${f(peak.files)}`,
      );
  }
} finally {
  await sink.close();
  await api.stop();
  rmSync(dir, { recursive: true, force: true });
}
