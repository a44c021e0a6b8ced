// Cold start from `kubectl apply` in the lab (issue 14), printed next to its floor, never
// pass/fail: the lab as `npm run lab -- up` starts it (the API stand-in, the webhook and the
// syncer as deploy/ runs them, the real nftlb), then the real `kubectl apply -f` of N
// selector-less Services with one EndpointSlice of 10 ready endpoints each, timed from kubectl's
// start until every farm is written and read back by the syncer and its chain is in nftlb's
// kernel tables. Two rows, each on a fresh lab: kubectl's default client-side apply (per object:
// GET, GET its namespace, POST) and `kubectl apply --server-side` (one apply PATCH per object).
// Floor: one raw POST of the same farms (as the syncer would send them to an empty nftlb) on a
// fresh nftlb, in the same run. kubectl writes its own Go CPU profile (`--profile=cpu`), and the
// bench prints where its CPU went by part (bench/lib/kubectl-profile.ts). Needs root: `npm run bench -- lab-scale` or
// `node bench/lab-scale.ts [N] [options]`.
//   N                        Services × 10 endpoints (1000)
//   --only client-side|server-side   one row only (the floor is still measured)
//   --profile DIR            an in-process CPU profile (the API stand-in and the lab's
//                            controllers) of each kubectl run, DIR/lab-scale-<row>.cpuprofile,
//                            summarised; the profiler slows the stand-in, so its row's time is
//                            not the figure
//   --with-nftlb-marks       also one raw POST of the farms with nftlb picking the marks
//                            (about 700 s at 1,000 × 10, and most farms never reach the kernel)
//   --nftlb-memory-limit Q   the nftlb container's limits.memory the syncer is told (default:
//                            deploy/'s 384Mi, or the operators' sizing rule of docs/operators.md
//                            when N needs more: 384Mi holds 1,000 Services of 10 endpoints)
//   --timeout-s S            give up waiting for the farms after S seconds (1800)
// The Services' endpoints are EndpointSlices the bench writes, not Pods: 10,000 Pods would be
// 10,000 network namespaces, and Pods are not what is measured here.
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import process from "node:process";
import { cannotBuildNetwork, createTestNetwork } from "../lab/net/index.ts";
import { serializeFarms } from "../nftlb/index.ts";
import { estimateMemory } from "../syncer/capacity.ts";
import { measuredPost, rawPost } from "./lib/raw-post.ts";
import { withoutMarks } from "./lib/syncer-farms.ts";
import { helpFromHeader } from "./lib/usage.ts";
import { NAMESPACE } from "./lib/lab-scale-objects.ts";
import { stages } from "./lib/lab-scale-stages.ts";
import { coldStart, loadavg, type ColdStart } from "./lib/lab-scale-run.ts";
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
const ROWS = (["client-side", "server-side"] as const).filter((r) => (option("--only") ?? r) === r);
if (ROWS.length === 0) {
  console.error("lab-scale: --only takes client-side or server-side");
  process.exit(2);
}
const PROFILE_DIR = option("--profile");
const s = (ms: number) => (ms >= 10_000 ? `${(ms / 1000).toFixed(1)} s` : `${ms.toFixed(0)} ms`);

const why = cannotBuildNetwork();
if (why !== undefined) {
  console.log(`lab-scale: skipped: ${why}`);
  process.exit(0);
}

/** Where one row's time went. */
function details(row: string, r: ColdStart): string[] {
  const k = { ...r.kubectl, parts: r.kubectlParts };
  return [
    `${row}: lab up in ${s(r.labUpMs)}, load average ${r.loadBefore}; farms in nftlb ${N - r.missing.length} of ${N}${r.missing.length ? ` (missing e.g. ${r.missing.slice(0, 3).join(", ")})` : ""}, in the kernel ${N} of ${N}`,
    ...(r.kubectlSays ? [`  kubectl's stderr: ${r.kubectlSays.split("\n").slice(0, 3).join(" | ")}`] : []),
    `  kubectl's own CPU: ${s(k.userMs + k.sysMs)} (user ${s(k.userMs)}, system ${s(k.sysMs)}) of its ${s(k.wallMs)}`,
    `  kubectl's CPU by part (its own profile, ${s(k.parts.sampledMs)} sampled): ${k.parts.parts
      .map((p) => `${p.part} ${s(p.ms)} (${((100 * p.ms) / k.parts.sampledMs).toFixed(0)}%)`)
      .join("; ")}`,
    `  CPU while kubectl ran: ${r.cpu
      .filter((c) => c.ms >= 50)
      .map((c) => `${c.name} ${s(c.ms)}`)
      .join(
        "; ",
      )}; the stand-in's event loop (the main thread) ${s(r.standIn.onCpu)} on a CPU and ${s(r.standIn.waiting)} runnable but waiting for one`,
    `  admission webhook: ${r.hook.calls} calls, ${s(r.hook.ms)} in the webhook's own handler (${(r.hook.ms / Math.max(1, r.hook.calls)).toFixed(2)} ms each; the rest of a Service's write over an EndpointSlice's is the call's way there and back: the stand-in, its CONNECT proxy, the ClusterIP)`,
    ...stages(r, r.api, r.trace, (o) => `${NAMESPACE}/${o.split("/")[1]!.replace(/-1$/, "")}`).map(
      (l) => `  ${l}`,
    ),
    ...r.profile.map((l) => `  ${l}`),
  ];
}

const root = mkdtempSync(path.join(os.tmpdir(), "kube-nftlb-lab-scale-"));
try {
  console.log(
    `lab-scale: nftlb 1.0.7; ${N} Services × ${E} endpoints; nftlb memory limit told to the syncer: ${MEMORY}; load average ${loadavg()}`,
  );
  const results: [string, ColdStart][] = [];
  for (const row of ROWS) {
    const dir = path.join(root, row);
    mkdirSync(dir);
    if (PROFILE_DIR) mkdirSync(PROFILE_DIR, { recursive: true });
    results.push([
      row,
      await coldStart({
        n: N,
        endpoints: E,
        dir,
        nftlbMemoryLimit: MEMORY,
        timeoutMs: TIMEOUT_MS,
        serverSide: row === "server-side",
        ...(PROFILE_DIR ? { profileFile: path.join(PROFILE_DIR, `lab-scale-${row}.cpuprofile`) } : {}),
      }),
    ]);
  }
  const body = serializeFarms(results[0]![1].farms);
  const differ = results.filter(([, r]) => serializeFarms(r.farms) !== body).map(([row]) => row);

  // The floor: one raw POST of the same farms on a fresh nftlb.
  const net = await createTestNetwork({ backends: 0 });
  try {
    const { ms: floor, cpu: floorCpu } = await measuredPost(net.nftlb, body);
    const floorChains = await countChains(net.nftlb.ns, /chain nat-scale\.s\d+\.http \{/g);
    console.log(
      `${"".padEnd(52)} | ${"lab".padStart(8)} | ${"floor".padStart(8)} (one raw POST, client marks) | ratio`,
    );
    for (const [row, r] of results)
      console.log(
        `${`cold start from kubectl apply (${row}), ${N} × ${E}`.padEnd(52)} | ${s(r.total).padStart(8)} | ${s(floor).padStart(8)} ${"".padEnd(21)} | ${(r.total / floor).toFixed(2)}×`,
      );
    console.log(
      `  floor: after the raw POST ${floorChains} of ${N} farms in the kernel (body ${(Buffer.byteLength(body) / 2 ** 20).toFixed(1)} MiB)${differ.length ? `; the farms of ${differ.join(", ")} differ from the first row's` : "; both rows stored the same farms"}`,
    );
    // nftlb's work, whatever the load: its time on a CPU for the syncer's cold start and for the floor.
    for (const [row, r] of results)
      if (r.nftlb && floorCpu)
        console.log(
          `  nftlb on a CPU, ${row}: ${s(r.nftlb.onCpu)} (waiting for one ${s(r.nftlb.waiting)}) against the floor's ${s(floorCpu.onCpu)} (${s(floorCpu.waiting)}): ${(r.nftlb.onCpu / floorCpu.onCpu).toFixed(2)}×`,
        );
    for (const [row, r] of results) for (const l of details(row, r)) console.log(l);
    if (args.includes("--with-nftlb-marks")) {
      await net.nftlb.restart();
      const t1 = performance.now();
      const st = await rawPost(
        net.nftlb.url,
        net.nftlb.key,
        serializeFarms(withoutMarks(results[0]![1].farms)),
      );
      const own = performance.now() - t1;
      console.log(
        `raw POST with nftlb's own marks: ${s(own)} (HTTP ${st}; the first row ${(results[0]![1].total / own).toFixed(2)}× it); farms in the kernel: ${await countChains(net.nftlb.ns, /chain nat-scale\.s\d+\.http \{/g)} of ${N}`,
      );
    }
    console.log(`load average after: ${loadavg()}`);
  } finally {
    await net.destroy();
  }
} finally {
  rmSync(root, { recursive: true, force: true });
}
