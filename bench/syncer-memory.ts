// The syncer's memory as an operator sees it: the real `kube-nftlb syncer` CLI in its own process,
// its RSS read from /proc once it is ready and settled, for 0 (baseline), 1,000 and 10,000
// Services × 10 endpoints. Settled: every farm is in the sink (kube-nftlb assigns the backend
// marks, so nftlb has no node-wide backend limit any more). Prints, never asserts. No root, no namespace:
// `node bench/syncer-memory.ts [--sources] [--heap-snapshot DIR] [--endpoints E] [N ...]` or
// `npm run bench -- syncer-memory`. By default it runs the BUILT JavaScript as the image does
// (tsconfig.build.json compiled into node_modules/.cache, NODE_ENV=production, Node 24);
// `--sources` runs the TypeScript sources instead. `--heap-snapshot DIR` writes a V8 heap
// snapshot of each settled syncer (SIGUSR2) for attribution.
// The Kubernetes API is the lab stand-in (in this process). nftlb is replaced by a small HTTP SINK
// below — not nftlb: it only stores what is POSTed and hands it back, enough for the syncer's
// client (Key check, GET /farms, GET /farms/NAME with nftlb's 500 "invalid request" for an unknown
// farm, GET /addresses listing the shared address objects, POST /farms merging farms, addresses
// and backends by name, the DELETE routes). The real nftlb would need ~2.6 GiB for 10,000 farm
// addresses (bench/scale.ts).
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import http from "node:http";
import net from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import process from "node:process";
import { parse } from "yaml";
import { startApiServer } from "../lab/apiserver/index.ts";
import { findResource } from "../lab/apiserver/resources.ts";
import { cip, service, slice } from "./lib/cluster-objects.ts";
import { until } from "../test/until.ts";

type Json = Record<string, unknown> & { name: string };
type SinkFarm = Json & { addresses?: Json[]; backends?: Json[] };

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

/** The sink: farms by name, merged like nftlb merges a POST (given keys set, others kept). */
function startSink(key: string) {
  const farms = new Map<string, SinkFarm>();
  // What the syncer asked: requests by kind, and the largest body each way (attribution).
  const stats = { requests: new Map<string, number>(), largestIn: 0, largestOut: 0 };
  const merge = (into: Json[] = [], given: unknown, defaults: Record<string, string>): Json[] => {
    for (const g of Array.isArray(given) ? (given as Json[]) : []) {
      const old = into.find((x) => x.name === g.name);
      if (old) Object.assign(old, g);
      else into.push({ ...defaults, ...g });
    }
    return into;
  };
  const post = (body: string): boolean => {
    let parsed: unknown;
    try {
      parsed = JSON.parse(body);
    } catch {
      return false;
    }
    const list = (parsed as { farms?: unknown }).farms;
    if (!Array.isArray(list) || !list.every((f) => typeof (f as Json)?.name === "string")) return false;
    for (const f of list as SinkFarm[]) {
      const { addresses, backends, ...fields } = f;
      const old = farms.get(f.name) ?? { name: f.name, state: "up" };
      Object.assign(old, fields);
      old.addresses = merge(old.addresses, addresses, { protocol: "tcp" });
      old.backends = merge(old.backends, backends, { state: "up", weight: "1", priority: "1" });
      farms.set(f.name, old);
    }
    return true;
  };
  // GET /addresses: nftlb's address objects are shared by name; `used` counts the farms using one.
  const addressObjects = () => {
    const byName = new Map<string, Json & { used: string }>();
    for (const f of farms.values())
      for (const a of f.addresses ?? []) {
        const seen = byName.get(a.name);
        byName.set(a.name, { ...a, used: String(Number(seen?.used ?? "0") + 1) });
      }
    return [...byName.values()];
  };
  const route = (method: string, url: string, body: string): [number, unknown] => {
    const ok: [number, unknown] = [200, { response: "success" }];
    const invalid: [number, unknown] = [500, { response: "error", message: "invalid request" }];
    const [, top, name, sub, item, extra] = url.split("/");
    if ((top !== "farms" && top !== "addresses") || extra !== undefined) return invalid;
    if (top === "addresses" && (method !== "GET" || name)) return invalid;
    const farm = name ? farms.get(name) : undefined;
    if (top === "addresses") return [200, { addresses: addressObjects() }];
    if (method === "GET" && !name) return [200, { farms: [...farms.values()] }];
    if (method === "POST" && !name)
      return post(body) ? ok : [400, { response: "error", message: "error parsing buffer" }];
    if (!farm) return invalid;
    if (method === "GET" && !sub) return [200, { farms: [farm] }];
    if (method !== "DELETE") return invalid;
    if (!sub) farms.delete(farm.name);
    else if ((sub === "backends" || sub === "addresses") && item) {
      farm[sub] = (farm[sub] ?? []).filter((x) => x.name !== item);
    } else return invalid;
    return ok;
  };
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const body = Buffer.concat(chunks);
      const [status, answer] =
        req.headers.key !== key
          ? [401, { response: "error", message: "authentication failed" }]
          : route(req.method ?? "", req.url ?? "", body.toString("utf8"));
      const text = JSON.stringify(answer);
      const url = req.url ?? "";
      const kind = `${req.method} ${url.split("/").length > 2 ? "/farms/NAME…" : url}`;
      stats.requests.set(kind, (stats.requests.get(kind) ?? 0) + 1);
      stats.largestIn = Math.max(stats.largestIn, body.length);
      stats.largestOut = Math.max(stats.largestOut, text.length);
      res.writeHead(status, { "Content-Type": "application/json", Connection: "close" });
      res.end(text);
    });
  });
  return new Promise<{
    url: string;
    farms: Map<string, SinkFarm>;
    stats: typeof stats;
    close: () => Promise<void>;
  }>((resolve) =>
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as net.AddressInfo;
      resolve({
        url: `http://127.0.0.1:${port}`,
        farms,
        stats,
        close: () => new Promise<void>((r) => server.close(() => r())),
      });
    }),
  );
}

/** A port free right now, for the syncer's --probe-port (its log does not say which port 0 got). */
const freePort = () =>
  new Promise<number>((resolve, reject) => {
    const s = net.createServer().listen(0, "127.0.0.1", () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
    s.on("error", reject);
  });

const readyz = (port: number) =>
  new Promise<boolean>((resolve) => {
    const req = http.get({ host: "127.0.0.1", port, path: "/readyz", timeout: 5_000 }, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.on("error", () => resolve(false));
    req.on("timeout", () => req.destroy());
  });

/** The syncer's /metrics text ("" when it does not answer). */
const metricsText = (port: number) =>
  new Promise<string>((resolve) => {
    const req = http.get({ host: "127.0.0.1", port, path: "/metrics", timeout: 5_000 }, (res) => {
      let text = "";
      res.on("data", (c: Buffer) => (text += c.toString()));
      res.on("end", () => resolve(text));
    });
    req.on("error", () => resolve(""));
    req.on("timeout", () => req.destroy());
  });
/** A sample's value (summed over its labels), -1 when absent. */
const sample = (text: string, name: string) => {
  const values = [...text.matchAll(new RegExp(`^${name}(?:\\{[^}]*\\})? ([\\d.e+-]+)$`, "gm"))];
  return values.length === 0 ? -1 : values.reduce((a, m) => a + Number(m[1]), 0);
};
const refusals = async (port: number) =>
  sample(await metricsText(port), "kube_nftlb_capacity_refusals_total");

/** Polls `cond` every 100 ms until it holds; fails if the child dies or the deadline passes. */
const untilAlive = (what: string, child: ChildProcess, cond: () => boolean | Promise<boolean>) =>
  until(what, cond, {
    timeoutMs: TIMEOUT_MS,
    intervalMs: 100,
    stopIf: () => (child.exitCode === null ? undefined : `syncer exited (${child.exitCode})`),
  });

/** VmRSS and VmHWM (peak RSS) of a process, in MiB. */
function memory(pid: number) {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const kb = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(status)?.[1]) / 1024;
  return { rss: kb("VmRSS"), peak: kb("VmHWM") };
}

/**
 * The memory settings of the syncer container in deploy/node/daemonset.yaml (NODE_OPTIONS,
 * MALLOC_ARENA_MAX): the syncer runs as deployed. In the pod, `--max-old-space-size-percentage`
 * is a share of the container's memory limit (Node reads its cgroup); here, with no limit, it
 * would be a share of the machine's memory, so it is turned into the `--max-old-space-size` the
 * pod gets.
 */
function deployedMemoryEnv(): { NODE_OPTIONS: string; MALLOC_ARENA_MAX?: string } {
  const ds = parse(readFileSync(path.join(root, "deploy/node/daemonset.yaml"), "utf8")) as {
    spec: {
      template: {
        spec: {
          containers: {
            name: string;
            env?: { name: string; value?: string }[];
            resources?: { limits?: { memory?: string } };
          }[];
        };
      };
    };
  };
  const syncer = ds.spec.template.spec.containers.find((c) => c.name === "syncer");
  const value = (name: string) => syncer?.env?.find((e) => e.name === name)?.value;
  const limit = /^(\d+)Mi$/.exec(syncer?.resources?.limits?.memory ?? "")?.[1];
  const NODE_OPTIONS = (value("NODE_OPTIONS") ?? "").replace(
    /--max-old-space-size-percentage=(\d+)%?/,
    (all, pct: string) =>
      limit === undefined ? all : `--max-old-space-size=${Math.floor((Number(limit) * Number(pct)) / 100)}`,
  );
  const arenas = value("MALLOC_ARENA_MAX");
  return arenas === undefined ? { NODE_OPTIONS } : { NODE_OPTIONS, MALLOC_ARENA_MAX: arenas };
}

/** The command the syncer runs as: the compiled output (as in the image) or the sources. */
function entry(): { argv: string[]; env: NodeJS.ProcessEnv } {
  // An explicit NODE_OPTIONS or MALLOC_ARENA_MAX (e.g. to compare settings) wins over the
  // DaemonSet's; MALLOC_ARENA_MAX= (empty) runs with glibc's default.
  const deployed = deployedMemoryEnv();
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    NODE_OPTIONS: process.env.NODE_OPTIONS ?? deployed.NODE_OPTIONS,
  };
  const arenas = process.env.MALLOC_ARENA_MAX ?? deployed.MALLOC_ARENA_MAX;
  if (arenas) env.MALLOC_ARENA_MAX = arenas;
  else delete env.MALLOC_ARENA_MAX;
  if (SOURCES) return { argv: ["bin/kube-nftlb.js"], env };
  // Inside node_modules so that the compiled files resolve the dependencies from the checkout,
  // and neither git, the linters nor bin/kube-nftlb.js (which prefers dist/) see them.
  const out = path.join(root, "node_modules/.cache/kube-nftlb-bench-build");
  rmSync(out, { recursive: true, force: true });
  execFileSync(path.join(root, "node_modules/.bin/tsc"), ["-p", "tsconfig.build.json", "--outDir", out], {
    cwd: root,
    stdio: "inherit",
  });
  const main = path.join(out, "cli", "main.js");
  const bin = path.join(out, "bin.mjs");
  writeFileSync(
    bin,
    `import { main } from ${JSON.stringify(main)};\nprocess.exitCode = await main(process.argv.slice(2));\n`,
  );
  return { argv: [bin], env: { ...env, NODE_ENV: "production" } };
}
const run = entry();

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
const sink = await startSink(KEY);

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
    const mem = memory(child.pid!);
    const text = await metricsText(port);
    const mib = (name: string) => sample(text, name) / 2 ** 20;
    // V8's view, from the syncer's own default metrics: what the JavaScript holds (heap used),
    // what V8 keeps for it (heap total), and buffers outside the heap (external).
    const v8 = {
      used: mib("kube_nftlb_syncer_nodejs_heap_size_used_bytes"),
      total: mib("kube_nftlb_syncer_nodejs_heap_size_total_bytes"),
      external: mib("kube_nftlb_syncer_nodejs_external_memory_bytes"),
    };
    if (IDLE_S > 0) await new Promise((r) => setTimeout(r, IDLE_S * 1000));
    const idle = memory(child.pid!).rss;
    if (SNAPSHOTS) await snapshot(child);
    return { n, programmed, seconds, ...mem, v8, idle };
  } catch (err) {
    if (tail) console.error(`syncer output (last lines):\n${tail}`);
    throw err;
  } finally {
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
    `syncer memory: \`kube-nftlb syncer\` as a child process (${SOURCES ? "TypeScript sources" : "built JavaScript, NODE_ENV=production"}, Node ${process.versions.node}, NODE_OPTIONS=${JSON.stringify(run.env.NODE_OPTIONS)}, MALLOC_ARENA_MAX=${run.env.MALLOC_ARENA_MAX ?? "(glibc default)"}), lab API stand-in, HTTP sink (not nftlb);\n` +
      "RSS read from /proc/PID/status once /readyz is 200, the written farms are in the sink and the rest refused",
  );
  console.log(
    `every Service has ${ENDPOINTS} endpoints; the syncer writes every farm (no nftlb memory limit given)`,
  );
  console.log(
    "Services | farms written |  RSS MiB | peak MiB | above idle (goal ≤ 150 MiB) | per Service | start → settled | heap used / total, external MiB",
  );
  let base: number | undefined;
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
  }
} finally {
  await sink.close();
  await api.stop();
  rmSync(dir, { recursive: true, force: true });
}
