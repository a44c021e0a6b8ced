// Admission webhook throughput and latency over HTTPS keep-alive, next to a floor: a minimal
// express HTTPS server answering a constant AdmissionReview. Printed, never asserted.
//   npm run bench -- webhook   (or: node bench/webhook.ts [--seconds N] [--rounds N] [--profile DIR])
// Each server runs in its own Node process pinned to one CPU (taskset), and the load generator is
// Debian's wrk, a separate process pinned to the other CPU: neither shares a core or an event loop
// with the server it measures. Beside throughput it prints each server's CPU time per request (from
// /proc), which a busy machine disturbs far less. `--profile DIR`: V8 CPU profiles of both servers.
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { request } from "node:https";
import { cpus, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { parseArgs } from "node:util";
import { mutate } from "../webhook/mutate.ts";
import { parseReview } from "../webhook/review.ts";
import { validate } from "../webhook/validate.ts";
import {
  admissionReview,
  key,
  request as admission,
  service,
} from "../webhook/review-fixtures.test-helpers.ts";
import { makeCa } from "../test/webhook-pki.ts";
import { wrk, type WrkResult } from "./lib/wrk.ts";
import { serve } from "./lib/webhook-servers.ts";

const { values } = parseArgs({
  options: {
    seconds: { type: "string", default: "4" },
    rounds: { type: "string", default: "2" },
    profile: { type: "string" },
    serve: { type: "string" },
    connections: { type: "string", default: "1,16,64" },
    paths: { type: "string", default: "validate,mutate" },
    dir: { type: "string" },
  },
});

async function main() {
  const rounds = Math.max(1, Number(values.rounds));
  const connectionCounts = values.connections.split(",").map(Number);
  const paths = values.paths.split(",");
  if (
    connectionCounts.some((c) => !Number.isInteger(c) || c < 1) ||
    paths.some((p) => p !== "validate" && p !== "mutate")
  )
    throw new Error("--connections takes counts like 1,16,64; --paths takes validate,mutate");
  const seconds = Math.max(1, Number(values.seconds));
  const SERVER_CPU = 0;
  const WRK_CPU = cpus().length > 1 ? 1 : 0;
  // wrk --version exits 1, but a missing wrk or taskset is ENOENT: say so before anything starts.
  for (const tool of ["wrk", "taskset"])
    if (spawnSync(tool, ["--version"]).error)
      throw new Error(`${tool} is needed (Debian: apt-get install ${tool === "wrk" ? "wrk" : "util-linux"})`);
  const dir = mkdtempSync(join(tmpdir(), "bench-webhook-"));
  const ca = makeCa();
  const leaf = ca.sign("bench");
  writeFileSync(join(dir, "tls.crt"), leaf.cert);
  writeFileSync(join(dir, "tls.key"), leaf.key);

  const annotated = service({
    annotations: {
      [key("mode")]: "dnat",
      [key("scheduler")]: "hash-srcip",
      [key("helper")]: "none",
      [key("log")]: "output",
      "kubectl.kubernetes.io/last-applied-configuration": "x".repeat(600),
    },
  });
  const bare = service({ annotations: { "example.com/team": "web" } });
  const bodies = {
    validate: JSON.stringify(admissionReview(admission(annotated, { uid: "bench-validate" }))),
    mutate: JSON.stringify(admissionReview(admission(bare, { uid: "bench-mutate" }))),
  };

  // The pure work per review (JSON parse, AdmissionReview and Service parse, the contract),
  // without HTTP: what the webhook must add on top of any server.
  for (const [name, body, judge] of [
    ["validate", bodies.validate, validate],
    ["mutate", bodies.mutate, mutate],
  ] as const) {
    const one = () => {
      const r = parseReview(JSON.parse(body));
      if (r.ok) judge(r.request);
    };
    for (let i = 0; i < 5_000; i++) one();
    const n = 50_000;
    const t0 = performance.now();
    for (let i = 0; i < n; i++) one();
    console.log(
      `pure ${name}: ${(((performance.now() - t0) * 1000) / n).toFixed(1)} µs per review (no HTTP)`,
    );
  }

  const start = async (which: "floor" | "webhook") => {
    const node = [
      ...(values.profile ? ["--cpu-prof", "--cpu-prof-dir", join(values.profile, which)] : []),
      import.meta.filename,
      "--serve",
      which,
      "--dir",
      dir,
    ];
    const child = spawn("taskset", ["-c", String(SERVER_CPU), process.execPath, ...node], {
      stdio: ["ignore", "pipe", "inherit"],
    });
    const [line] = (await once(createInterface({ input: child.stdout }), "line")) as [string];
    return { child, port: (JSON.parse(line) as { port: number }).port };
  };
  const floor = await start("floor");
  const webhook = await start("webhook");
  try {
    // Both answer a review before any load: 200, and the webhook echoes the uid.
    for (const [srv, path] of [
      [floor, "validate"],
      [webhook, "validate"],
      [webhook, "mutate"],
    ] as const) {
      const answer = await post(srv.port, `/${path}`, bodies[path], ca.cert);
      if (answer.status !== 200 || (srv === webhook && !answer.body.includes(`"uid":"bench-${path}"`)))
        throw new Error(`/${path} answered ${answer.status}: ${answer.body}`);
    }
    console.log(
      `node ${process.version}, ${cpus().length} CPU(s) (${cpus()[0]?.model ?? "?"}); servers on CPU ${SERVER_CPU}, wrk on CPU ${WRK_CPU}; ` +
        `${seconds} s × ${rounds} rounds per cell; load average ${loadavg()[0]?.toFixed(1)}; ` +
        `bodies: validate ${bodies.validate.length} B, mutate ${bodies.mutate.length} B`,
    );
    const row = (cells: (string | number)[]) =>
      console.log(cells.map((c, i) => String(c).padStart(i === 0 ? 10 : 12)).join(""));
    row([
      "path",
      "connections",
      "req/s",
      "p50 ms",
      "p99 ms",
      "errors",
      "CPU µs/req",
      "floor req/s",
      "ratio",
      "CPU ratio",
    ]);
    for (const connections of connectionCounts) {
      for (const path of paths as ("validate" | "mutate")[]) {
        // wrk against one server, with the CPU time that server's process spent meanwhile: the
        // throughput ratio moves with whatever else the machine runs; CPU per request much less.
        const load = async (srv: { port: number; child: ChildProcess }): Promise<Cell> => {
          const cpu0 = cpuMs(srv.child.pid!);
          const r = await wrk({
            url: `https://127.0.0.1:${srv.port}/${path}`,
            body: bodies[path],
            connections,
            seconds,
            cpu: WRK_CPU,
          });
          return { ...r, cpuUs: ((cpuMs(srv.child.pid!) - cpu0) * 1000) / Math.max(1, r.requests) };
        };
        // Alternate the order over rounds so that drift in the machine's load favours neither.
        const bases: Cell[] = [];
        const ourss: Cell[] = [];
        for (let round = 0; round < rounds; round++) {
          if (round % 2 === 0) bases.push(await load(floor));
          ourss.push(await load(webhook));
          if (round % 2 === 1) bases.push(await load(floor));
        }
        const base = merge(bases);
        const ours = merge(ourss);
        row([
          `/${path}`,
          connections,
          ours.rps.toFixed(0),
          ours.p50.toFixed(2),
          ours.p99.toFixed(2),
          ours.errors,
          ours.cpuUs.toFixed(0),
          base.rps.toFixed(0),
          (ours.rps / base.rps).toFixed(2),
          (base.cpuUs / ours.cpuUs).toFixed(2),
        ]);
        row([
          "  floor",
          connections,
          base.rps.toFixed(0),
          base.p50.toFixed(2),
          base.p99.toFixed(2),
          base.errors,
          base.cpuUs.toFixed(0),
          "",
          "",
          "",
        ]);
      }
    }
  } finally {
    await Promise.all([stop(floor.child), stop(webhook.child)]);
    rmSync(dir, { recursive: true, force: true });
  }
  if (values.profile)
    console.log(`CPU profiles written to ${values.profile}/webhook and ${values.profile}/floor`);
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;
type Cell = WrkResult & { cpuUs: number };
/** Rounds together: throughput and CPU per request averaged, latencies as medians of the rounds. */
const merge = (rs: Cell[]): Cell => ({
  requests: rs.reduce((a, r) => a + r.requests, 0),
  rps: rs.reduce((a, r) => a + r.rps, 0) / rs.length,
  errors: rs.reduce((a, r) => a + r.errors, 0),
  p50: median(rs.map((r) => r.p50)),
  p99: median(rs.map((r) => r.p99)),
  cpuUs:
    rs.reduce((a, r) => a + r.cpuUs * r.requests, 0) /
    Math.max(
      1,
      rs.reduce((a, r) => a + r.requests, 0),
    ),
});

/** User + system CPU time of a process so far (ms), from /proc/PID/stat (clock ticks of 10 ms). */
function cpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  // After the command: state is field 3, utime 14 and stime 15 (1-based, man 5 proc).
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

async function stop(child: ChildProcess) {
  if (child.exitCode !== null) return;
  const exited = once(child, "exit");
  child.kill("SIGTERM");
  await exited;
}

function post(port: number, path: string, body: string, ca: string) {
  return new Promise<{ status: number; body: string }>((resolve, reject) => {
    const req = request(
      { host: "127.0.0.1", port, path, method: "POST", ca, headers: { "content-type": "application/json" } },
      (res) => {
        let text = "";
        res.setEncoding("utf8");
        res.on("data", (c: string) => (text += c));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body: text }));
      },
    );
    req.on("error", reject);
    req.end(body);
  });
}

if (values.serve !== undefined) {
  await serve(values.serve, values.dir ?? ".");
} else {
  await main();
}
