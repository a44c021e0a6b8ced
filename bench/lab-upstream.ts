// The lab against upstream's published benchmark (SPEC §7), printed, never asserted: time from
// `kubectl apply` / `kubectl delete` returning until the farm's rules are in nftlb's kernel
// tables, for Services of 10, 50 and 100 ready endpoints, RUNS runs each (median, p90); the nft
// rules per Service; and the time from a Pod turning Ready to it answering traffic. Draws
// bench/results/*.svg and writes bench/results/lab-upstream.json.
//   npm run bench -- lab-upstream            (root; about 3 minutes)
//   LAB_BENCH_RUNS=5 npm run bench -- lab-upstream   (a quick look)
import process from "node:process";
import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { performance } from "node:perf_hooks";
import { startCluster, type Cluster } from "../lab/cluster/cluster.ts";
import { apiRefusals } from "./lib/refusals.ts";
import { findResource } from "../lab/apiserver/resources.ts";
import { cannotBuildNetwork } from "../lab/net/index.ts";
import { drawCharts, RESULTS_DIR, UPSTREAM, type LabBenchResults } from "./lib/lab-charts.ts";
import { kernelTables, type KernelTables } from "./lib/lab-nft.ts";
import { SERVICE_NAME_LABEL } from "../kube/labels.ts";
import { until } from "../test/until.ts";
import { helpFromHeader } from "./lib/usage.ts";

helpFromHeader(import.meta.url, process.argv.slice(2));

const RUNS = Number(process.env.LAB_BENCH_RUNS ?? 30);
const SIZES = [10, 50, 100];
const READY_RUNS = Math.min(RUNS, 15);
const FARM = "default.bench.http";

const why = cannotBuildNetwork();
if (why !== undefined) {
  console.log(`lab-upstream: skipped: ${why}`);
  process.exit(0);
}

const stats = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const at = (q: number) => s[Math.min(s.length - 1, Math.ceil(q * s.length) - 1)] ?? NaN;
  return { median: Math.round(at(0.5) * 10) / 10, p90: Math.round(at(0.9) * 10) / 10 };
};

const nftlbVersion = () => {
  try {
    return (
      /^Version: (.*)$/m.exec(
        readFileSync("/var/lib/dpkg/status", "utf8")
          .split("\n\n")
          .find((p) => p.startsWith("Package: nftlb\n")) ?? "",
      )?.[1] ?? "?"
    );
  } catch {
    return "?";
  }
};

const dir = mkdtempSync(path.join(os.tmpdir(), "kube-nftlb-lab-bench-"));
let cluster: Cluster | undefined;
let kernel: KernelTables | undefined;

const kubectl = (args: string[], stdin?: string) =>
  new Promise<string>((resolve, reject) => {
    const c = execFile("kubectl", ["--kubeconfig", cluster!.info.kubeconfig, ...args], (err, out, errOut) =>
      err ? reject(new Error(`kubectl ${args.join(" ")}: ${errOut}`)) : resolve(out),
    );
    c.stdin?.end(stdin ?? "");
  });

/** The tests' polling helper, polling as often as it can: the figures are times to a condition. */
const poll = <T>(what: string, cond: () => Promise<T | undefined> | T | undefined, timeoutMs = 60_000) =>
  until(what, cond, { timeoutMs, intervalMs: 0 });

const pod = (i: number) => {
  const labels: Record<string, string> = { bench: "yes" };
  for (const n of SIZES) if (i < n) labels[`bench-${n}`] = "yes";
  if (i < 10) labels.rt = "yes";
  return `apiVersion: v1
kind: Pod
metadata: { name: bench-${i}, labels: ${JSON.stringify(labels)} }
spec: { containers: [{ name: app, image: lab.kube-nftlb.io/pod-server, ports: [{ name: http, containerPort: 8080 }] }] }
---`;
};
const service = (name: string, selector: Record<string, string>) => `apiVersion: v1
kind: Service
metadata: { name: ${name} }
spec: { selector: ${JSON.stringify(selector)}, ports: [{ name: http, port: 80, targetPort: http, protocol: TCP }] }`;

const refused = apiRefusals();
try {
  const t0 = performance.now();
  cluster = await startCluster({ dir, apiLog: refused.log });
  const c = cluster;
  kernel = kernelTables(c.info.node.netns);
  const k = kernel;
  const podsRes = findResource("", "v1", "pods")!;
  const ready = (p: object) =>
    (p as { status?: { conditions?: { type: string; status: string }[] } }).status?.conditions?.some(
      (x) => x.type === "Ready" && x.status === "True",
    ) ?? false;
  await kubectl(["apply", "-f", "-"], Array.from({ length: 100 }, (_, i) => pod(i)).join("\n"));
  await poll(
    "100 ready pods",
    () => (c.api.store.list(podsRes, "default").filter(ready).length >= 100 ? true : undefined),
    300_000,
  );
  console.log(`lab with 100 ready pods in ${Math.round(performance.now() - t0)} ms\n`);

  // Service create/delete → kernel, as upstream measured it (from kubectl returning), and also
  // from the API write (when the stand-in stored the Service: kubectl's own exit is not in it).
  let written = 0;
  let sliced = 0;
  let want = 0;
  const svcRes = findResource("", "v1", "services")!;
  const sliceRes = findResource("discovery.k8s.io", "v1", "endpointslices")!;
  c.api.store.subscribe((e) => {
    if (e.res === svcRes && e.object.metadata.name === "bench" && e.type === "ADDED")
      written = performance.now();
    const eps = (e.object as { endpoints?: unknown[] }).endpoints;
    if (
      e.res === sliceRes &&
      e.type !== "DELETED" &&
      e.object.metadata.labels?.[SERVICE_NAME_LABEL] === "bench" &&
      eps?.length === want
    )
      sliced = performance.now();
  });
  const sizes: LabBenchResults["sizes"] = [];
  for (const n of SIZES) {
    const create: number[] = [];
    const fromWrite: number[] = [];
    const toSlice: number[] = [];
    want = n;
    const del: number[] = [];
    let rules = 0;
    for (let run = 0; run < RUNS; run++) {
      await kubectl(["apply", "-f", "-"], service("bench", { [`bench-${n}`]: "yes" }));
      const applied = performance.now();
      const f = await poll(`${FARM} with ${n} backends in the kernel`, async () => {
        const x = await k.farm(FARM);
        return x.backends === n ? x : undefined;
      });
      const inKernel = performance.now();
      create.push(inKernel - applied);
      fromWrite.push(inKernel - written);
      toSlice.push(sliced - written);
      rules = f.rules;
      await kubectl(["delete", "service", "bench"]);
      const deleted = performance.now();
      await poll(`${FARM} gone from the kernel`, async () =>
        (await k.farm(FARM)).present ? undefined : true,
      );
      del.push(performance.now() - deleted);
    }
    sizes.push({
      endpoints: n,
      create: stats(create),
      delete: stats(del),
      createFromApiWrite: stats(fromWrite),
      apiWriteToSlice: stats(toSlice),
      rulesPerService: rules,
    });
    console.log(`  ${n} endpoints: ${RUNS} runs done`);
  }

  // Pod Ready → it answers traffic: a Service of 10 ready pods plus one that toggles.
  await kubectl(
    ["apply", "-f", "-"],
    `${service("rt", { rt: "yes" })}\n---\napiVersion: v1
kind: Pod
metadata: { name: late, labels: { rt: "yes" }, annotations: { lab.kube-nftlb.io/ready: "false" } }
spec: { containers: [{ name: app, image: lab.kube-nftlb.io/pod-server, ports: [{ name: http, containerPort: 8080 }] }] }`,
  );
  const vip = (await kubectl(["get", "svc", "rt", "-o", "jsonpath={.spec.clusterIP}"])).trim();
  await poll("rt answering", async () => ((await c.traffic.tcp(vip, 80)).ok ? true : undefined));
  await poll("late running", () => (c.api.store.get(podsRes, "default", "late")?.status ? true : undefined));
  let readyAt = 0;
  let sliceAt = 0;
  const slicesRes = findResource("discovery.k8s.io", "v1", "endpointslices")!;
  const lateReady = (o: object) =>
    (
      (o as { endpoints?: { targetRef?: { name?: string }; conditions?: { ready?: boolean } }[] })
        .endpoints ?? []
    ).some((x) => x.targetRef?.name === "late" && x.conditions?.ready === true);
  c.api.store.subscribe((e) => {
    if (e.res === podsRes && e.object.metadata.name === "late" && ready(e.object) && readyAt === 0)
      readyAt = performance.now();
    if (e.res === slicesRes && readyAt !== 0 && sliceAt === 0 && lateReady(e.object))
      sliceAt = performance.now();
  });
  const toTraffic: number[] = [];
  const toSlice: number[] = [];
  const toKernel: number[] = [];
  for (let run = 0; run < READY_RUNS; run++) {
    readyAt = 0;
    sliceAt = 0;
    await kubectl(["annotate", "pod", "late", "lab.kube-nftlb.io/ready=true", "--overwrite"]);
    const inKernel = await poll("late in the kernel", async () =>
      (await k.farm("default.rt.http")).backends === 11 ? performance.now() : undefined,
    );
    const answered = await poll("late answering", async () => {
      const p = await c.traffic.tcp(vip, 80, { timeoutMs: 500 });
      return p.ok && p.answer === "late" ? performance.now() : undefined;
    });
    toTraffic.push(answered - readyAt);
    toKernel.push(inKernel - readyAt);
    toSlice.push(sliceAt - readyAt);
    await kubectl(["annotate", "pod", "late", "lab.kube-nftlb.io/ready=false", "--overwrite"]);
    await poll("late out of the farm", async () => {
      const r = await fetch(`${c.info.nftlb.url}/farms/default.rt.http`, {
        headers: { Key: c.info.nftlb.key },
      });
      const body = (await r.json()) as { farms?: { backends?: { name: string }[] }[] };
      return body.farms?.[0]?.backends?.some((b) => b.name === "late") ? undefined : true;
    });
  }

  const cpu = os.cpus()[0]?.model ?? "?";
  const results: LabBenchResults = {
    environment: {
      cpu: `${cpu} (${os.cpus().length})`,
      kernel: os.release(),
      node: process.version,
      nftlb: nftlbVersion(),
      date: new Date().toISOString().slice(0, 10),
    },
    runs: RUNS,
    sizes,
    podReadyToTraffic: { runs: READY_RUNS, ...stats(toTraffic) },
    podReadyToSlice: stats(toSlice),
    podReadyToKernel: stats(toKernel),
  };

  console.log(
    `\nTime until the rules are in the kernel (ms; ${RUNS} runs; upstream: SPEC §7, minikube, 50 runs, other hardware)`,
  );
  console.log(
    "endpoints | create median / p90 | upstream | kube-proxy | delete median / p90 | upstream | kube-proxy | create from API write (median / p90)",
  );
  for (const s of sizes) {
    const u = UPSTREAM[s.endpoints]!;
    console.log(
      `${String(s.endpoints).padStart(9)} | ${`${s.create.median} / ${s.create.p90}`.padStart(18)} | ${String(u.create).padStart(8)} | ${String(u.kubeProxyCreate).padStart(10)} | ${`${s.delete.median} / ${s.delete.p90}`.padStart(18)} | ${String(u.delete).padStart(8)} | ${String(u.kubeProxyDelete).padStart(10)} | ${s.createFromApiWrite.median} / ${s.createFromApiWrite.p90}`,
    );
  }
  console.log(
    "\nnft rules per Service (one port): endpoints | kube-nftlb (measured) | kube-proxy iptables (3N+1)",
  );
  for (const s of sizes) console.log(`  ${s.endpoints} | ${s.rulesPerService} | ${3 * s.endpoints + 1}`);
  console.log("\nService stored → its EndpointSlice stored (the lab's controller), median / p90 ms:");
  for (const s of sizes)
    console.log(`  ${s.endpoints} endpoints: ${s.apiWriteToSlice?.median} / ${s.apiWriteToSlice?.p90}`);
  console.log(
    `\nPod Ready → it answers a connection from the client namespace: median ${results.podReadyToTraffic.median} ms, p90 ${results.podReadyToTraffic.p90} ms (${READY_RUNS} runs)` +
      `\n  of which: Ready → EndpointSlice ready ${results.podReadyToSlice?.median} / ${results.podReadyToSlice?.p90} ms, Ready → backend in the kernel ${results.podReadyToKernel?.median} / ${results.podReadyToKernel?.p90} ms (median / p90)`,
  );
  console.log(`environment: ${JSON.stringify(results.environment)}`);
  writeFileSync(path.join(RESULTS_DIR, "lab-upstream.json"), `${JSON.stringify(results, null, 2)}\n`);
  for (const f of await drawCharts(results)) console.log(`wrote ${path.relative(process.cwd(), f)}`);
  refused.check();
} finally {
  kernel?.close();
  await cluster?.stop();
  rmSync(dir, { recursive: true, force: true });
}
