// One cold start of bench/lab-scale.ts: a fresh lab, the real `kubectl apply -f` (client-side or
// --server-side) of the bench's file, and the wait until every farm is written, read back and in
// the kernel; with what it takes to say where the time went (the stand-in's request log, when it
// stored each object, the syncer's trace, the webhook's histogram, each process's CPU).
import { spawn } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import process from "node:process";
import { startCluster, type Cluster } from "../../lab/cluster/cluster.ts";
import { apiRefusals } from "./refusals.ts";
import { portOf, webhookArgs } from "../../lab/cluster/deploy-args.ts";
import { findResource } from "../../lab/apiserver/resources.ts";
import { SERVICE_NAME_LABEL } from "../../kube/labels.ts";
import { DEFAULT_SCOPE } from "../../annotations/balanced.ts";
import type { FarmPatch } from "../../nftlb/index.ts";
import { desired } from "../../syncer/desired.ts";
import { plan } from "../../syncer/plan.ts";
import type { TraceEvent } from "../../syncer/trace.ts";
import { until } from "../../test/until.ts";
import { farmName, manifest, NAMESPACE, serviceName } from "./lab-scale-objects.ts";
import { allSynced, parseApiLine, traceReader, type ApiRequest, type Marks } from "./lab-scale-stages.ts";
import { countChains } from "./nft-chains.ts";
import { phaseProfiler } from "./cpu-profile.ts";
import { cpuBetween, descendantsCpu } from "./process-cpu.ts";
import { cpuSince, nftlbCpuSince, type CpuSample } from "./nftlb-cpu.ts";
import { kubectlProfile, type KubectlProfile } from "./kubectl-profile.ts";

const SVC = findResource("", "v1", "services")!;
const SLICE = findResource("discovery.k8s.io", "v1", "endpointslices")!;

export interface ColdStartOptions {
  n: number;
  endpoints: number;
  dir: string;
  nftlbMemoryLimit: string;
  timeoutMs: number;
  serverSide: boolean;
  /** write an in-process CPU profile (the stand-in, the lab's controllers) of kubectl's run here */
  profileFile?: string;
}

export interface ColdStart extends Marks {
  total: number;
  labUpMs: number;
  loadBefore: string;
  api: ApiRequest[];
  trace: TraceEvent[];
  /** the webhook's own time in its handler over the apply */
  hook: { calls: number; ms: number };
  /** farms nftlb does not have after all (its GET /farms, once) */
  missing: string[];
  kubectlSays: string;
  /** kubectl's own CPU (user + system, all its threads) and wall time */
  kubectl: { userMs: number; sysMs: number; wallMs: number };
  /** where kubectl's CPU went, by its own profile */
  kubectlParts: KubectlProfile;
  /** CPU of this process (the stand-in, the controllers, the bench) and of each lab process, kubectl's run */
  cpu: { name: string; ms: number }[];
  /** the bench process's main thread (the stand-in's event loop): ms on a CPU, ms waiting for one */
  standIn: CpuSample;
  /** nftlb from kubectl's start to every farm synced: ms on a CPU, ms waiting for one */
  nftlb: CpuSample | undefined;
  profile: string[];
  /** the farms the syncer would POST to an empty nftlb for what the stand-in stored */
  farms: FarmPatch[];
}

export const loadavg = (): string =>
  os
    .loadavg()
    .map((x) => x.toFixed(1))
    .join(" ");

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

/** kubectl under GNU time, which writes its user and system CPU (seconds) to `timeFile`. */
const kubectl = (kubeconfig: string, argv: string[], timeFile: string) =>
  new Promise<{ code: number; out: string; err: string }>((resolve) => {
    const c = spawn(
      "/usr/bin/time",
      ["-o", timeFile, "-f", "%U %S", "kubectl", "--kubeconfig", kubeconfig, ...argv],
      {
        stdio: ["ignore", "pipe", "pipe"],
      },
    );
    let out = "";
    let err = "";
    c.stdout.on("data", (d: Buffer) => (out += d.toString()));
    c.stderr.on("data", (d: Buffer) => (err += d.toString()));
    c.on("close", (code) => resolve({ code: code ?? 1, out, err }));
  });

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

export async function coldStart(o: ColdStartOptions): Promise<ColdStart> {
  const traceFile = path.join(o.dir, "syncer-trace.jsonl");
  const readTrace = traceReader(traceFile);
  const api: ApiRequest[] = [];
  const refused = apiRefusals();
  const t = performance.now();
  const c = await startCluster({
    dir: o.dir,
    nftlbMemoryLimit: o.nftlbMemoryLimit,
    syncerEnv: { KUBE_NFTLB_SYNCER_TRACE_FILE: traceFile },
    // kube-apiserver's watch cache grows to hold ~75 s of events (up to 102,400 per resource);
    // the stand-in's default 1,000 would answer a resumed watch 410 where the real one resumes.
    apiHistorySize: 102_400,
    apiLog: (line) => {
      refused.log(line);
      const r = parseApiLine(performance.now(), line);
      if (r) api.push(r);
    },
  });
  try {
    const labUpMs = performance.now() - t;
    const loadBefore = loadavg();
    const kc = c.info.kubeconfig;
    const timeFile = path.join(o.dir, "kubectl-time");
    const made = await kubectl(kc, ["create", "namespace", NAMESPACE], timeFile);
    if (made.code !== 0) throw new Error(`kubectl create namespace: ${made.err}`);
    const file = path.join(o.dir, "services.yaml");
    writeFileSync(file, manifest(o.n, o.endpoints));

    const stored = new Map<string, number>();
    c.api.store.subscribe((e) => {
      if (
        e.type === "ADDED" &&
        e.object.metadata.namespace === NAMESPACE &&
        (e.res === SVC || e.res === SLICE)
      )
        stored.set(`${e.res === SVC ? "service" : "slice"}/${e.object.metadata.name}`, performance.now());
    });
    const keys = Array.from({ length: o.n }, (_, i) => `${NAMESPACE}/${serviceName(i)}`);
    const hookBefore = await webhookTime(c);
    const profiler = o.profileFile ? phaseProfiler() : undefined;
    await profiler?.start();
    const cpuBefore = descendantsCpu();
    const selfBefore = process.cpuUsage();
    const thread = cpuSince(process.pid);
    const nftlb = nftlbCpuSince(c.info.nftlb.netns);
    const start = performance.now();
    // kubectl's own CPU profile (Go's, 100 samples a second: a few % of its CPU) says where its
    // CPU went; the stand-in cannot see that from its side of the wire.
    const kubectlPprof = path.join(o.dir, "kubectl-cpu.pprof");
    const applied = await kubectl(
      kc,
      [
        "apply",
        ...(o.serverSide ? ["--server-side"] : []),
        "-f",
        file,
        "--profile=cpu",
        `--profile-output=${kubectlPprof}`,
      ],
      timeFile,
    );
    const exited = performance.now();
    const self = process.cpuUsage(selfBefore);
    const standIn = thread();
    const cpu = [
      {
        name: "the bench process (API stand-in, lab controllers, bench)",
        ms: (self.user + self.system) / 1000,
      },
      ...cpuBetween(cpuBefore, descendantsCpu()),
    ].sort((a, b) => b.ms - a.ms);
    const profile = profiler ? await profiler.stop(o.profileFile!, 25) : [];
    if (applied.code !== 0) throw new Error(`kubectl apply: ${applied.err.slice(0, 2000)}`);
    const [user = NaN, sys = NaN] = readFileSync(timeFile, "utf8")
      .trim()
      .split("\n")
      .at(-1)!
      .split(" ")
      .map(Number);
    const synced = await until(
      "every farm written and read back by the syncer",
      () => allSynced(readTrace(), keys, start),
      {
        timeoutMs: o.timeoutMs,
        intervalMs: 50,
      },
    );
    const nftlbCpu = nftlb();
    // The kernel: every farm's nat chain in nftlb's namespace, looked at from when the syncer was
    // done; the end is the start of the first look that found them all.
    let end = synced;
    for (;;) {
      const looked = performance.now();
      const chains = await countChains(c.info.nftlb.netns, /chain nat-scale\.s\d+\.http \{/g);
      if (chains >= o.n) {
        end = Math.max(synced, looked);
        break;
      }
      if (performance.now() - start > o.timeoutMs)
        throw new Error(`only ${chains} of ${o.n} farms in the kernel`);
    }

    // nftlb, once: every farm there (not timed: a GET of everything blocks nftlb).
    const got = await fetch(`${c.info.nftlb.url}/farms`, { headers: { Key: c.info.nftlb.key } });
    const all = ((await got.json()) as { farms?: { farmname?: string; name?: string }[] }).farms ?? [];
    const ours = new Set(
      all.map((f) => f.farmname ?? f.name ?? "").filter((n) => n.startsWith(`${NAMESPACE}.`)),
    );
    const hookAfter = await webhookTime(c);
    const result: ColdStart = {
      start,
      exited,
      stored,
      synced,
      end,
      total: end - start,
      labUpMs,
      loadBefore,
      api,
      trace: readTrace(),
      nftlb: nftlbCpu,
      hook: {
        calls: hookAfter.calls - hookBefore.calls,
        ms: (hookAfter.seconds - hookBefore.seconds) * 1000,
      },
      missing: Array.from({ length: o.n }, (_, i) => farmName(i)).filter((f) => !ours.has(f)),
      kubectlSays: applied.err.trim(),
      kubectl: { userMs: user * 1000, sysMs: sys * 1000, wallMs: exited - start },
      kubectlParts: kubectlProfile(kubectlPprof),
      cpu,
      standIn: standIn ?? { onCpu: NaN, waiting: NaN },
      profile,
      farms: floorFarms(c),
    };
    refused.check();
    return result;
  } finally {
    await c.stop();
  }
}
