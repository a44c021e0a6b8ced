// Admission webhook throughput and latency over HTTPS keep-alive, next to a floor: a minimal
// express HTTPS server answering a constant AdmissionReview. Printed, never asserted.
//   npm run bench -- webhook   (or: node bench/webhook.ts [--seconds 2] [--rounds 5] [--profile DIR])
// Each server runs in its own Node process pinned to one CPU (taskset), and the load generator is
// Debian's wrk, a separate process pinned to the other CPU: neither shares a core or an event loop
// with the server it measures. Webhook and floor alternate in short rounds (bench/lib/paired-rounds.ts);
// each cell prints the median per-round ratio and its min–max, and each server's CPU per request (from
// /proc), which a busy machine disturbs far less. `--profile DIR`: V8 CPU profiles of both servers.
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
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
import { formatSpread, median, pairedRounds, spread } from "./lib/paired-rounds.ts";
import { attribute, readProfile } from "./lib/profile-attribution.ts";
import { cpuNs } from "./lib/process-cpu.ts";
import { helpFromHeader } from "./lib/usage.ts";

helpFromHeader(import.meta.url, process.argv.slice(2));
const { values } = parseArgs({
  options: {
    seconds: { type: "string", default: "2" },
    rounds: { type: "string", default: "5" },
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
  // Each server's turns under load and the requests it answered: a profile's time is counted
  // within those turns and divided by these.
  const turns = { webhook: [] as [number, number][], floor: [] as [number, number][] };
  const answered = { webhook: 0, floor: 0 };
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
      console.log(cells.map((c, i) => String(c).padStart(i === 0 ? 10 : i >= 8 ? 20 : 11)).join(""));
    row([
      "path",
      "conns",
      "req/s",
      "p50 ms",
      "p99 ms",
      "errors",
      "CPU µs/req",
      "floor µs",
      "ratio",
      "CPU ratio",
    ]);
    for (const connections of connectionCounts) {
      for (const path of paths as ("validate" | "mutate")[]) {
        // wrk against one server, with the CPU time that server's process (all its threads)
        // spent meanwhile: throughput moves with whatever else the machine runs, CPU much less.
        const load = async (srv: { port: number; child: ChildProcess }): Promise<Cell> => {
          const cpu0 = cpuNs(srv.child.pid!) ?? NaN;
          const from = hrtimeUs();
          const r = await wrk({
            url: `https://127.0.0.1:${srv.port}/${path}`,
            body: bodies[path],
            connections,
            seconds,
            cpu: WRK_CPU,
          });
          const turn: [number, number] = [from, hrtimeUs()];
          return {
            ...r,
            turn,
            cpuUs: ((cpuNs(srv.child.pid!) ?? NaN) - cpu0) / 1000 / Math.max(1, r.requests),
          };
        };
        const pairs = await pairedRounds(
          rounds,
          () => load(floor),
          () => load(webhook),
        );
        const ours = pairs.map((p) => p.ours);
        const base = pairs.map((p) => p.floor);
        for (const p of pairs) {
          answered.webhook += p.ours.requests;
          answered.floor += p.floor.requests;
          turns.webhook.push(p.ours.turn);
          turns.floor.push(p.floor.turn);
        }
        const of = (cells: Cell[], f: (c: Cell) => number) => median(cells.map(f));
        row([
          `/${path}`,
          connections,
          of(ours, (c) => c.rps).toFixed(0),
          of(ours, (c) => c.p50).toFixed(2),
          of(ours, (c) => c.p99).toFixed(2),
          ours.reduce((a, c) => a + c.errors, 0),
          of(ours, (c) => c.cpuUs).toFixed(0),
          of(base, (c) => c.cpuUs).toFixed(0),
          formatSpread(spread(pairs.map((p) => p.ours.rps / p.floor.rps))),
          formatSpread(spread(pairs.map((p) => p.floor.cpuUs / p.ours.cpuUs))),
        ]);
        row([
          "  floor",
          connections,
          of(base, (c) => c.rps).toFixed(0),
          of(base, (c) => c.p50).toFixed(2),
          of(base, (c) => c.p99).toFixed(2),
          base.reduce((a, c) => a + c.errors, 0),
          of(base, (c) => c.cpuUs).toFixed(0),
          "",
          "",
          "",
        ]);
      }
    }
    console.log(
      `load average after: ${loadavg()
        .map((l) => l.toFixed(1))
        .join(" ")}`,
    );
  } finally {
    await Promise.all([stop(floor.child), stop(webhook.child)]);
    rmSync(dir, { recursive: true, force: true });
  }
  if (values.profile) printAttribution(values.profile, turns, answered);
}

type Cell = WrkResult & { cpuUs: number; turn: [number, number] };

/** µs on the clock the servers' CPU profiles use (CLOCK_MONOTONIC). */
const hrtimeUs = () => Number(process.hrtime.bigint() / 1000n);

/** Both servers' profiled self time during their turns, by part, µs per request answered. */
function printAttribution(
  dir: string,
  turns: Record<"webhook" | "floor", [number, number][]>,
  answered: Record<"webhook" | "floor", number>,
) {
  const [ours, base] = (["webhook", "floor"] as const).map((s) => {
    const a = attribute(readProfile(join(dir, s)), turns[s]);
    const per = (ms: number) => (ms * 1000) / Math.max(1, answered[s]);
    return { busy: per(a.busyMs), parts: a.parts.map((p) => ({ name: p.name, us: per(p.ms) })) };
  });
  console.log(
    `CPU profiles in ${dir}/webhook and ${dir}/floor; self time during each server's turns, µs per request ` +
      `(webhook ${answered.webhook}, floor ${answered.floor} requests):`,
  );
  const line = (name: string, w: number, f: number) =>
    console.log(
      `${w.toFixed(1).padStart(8)}${f.toFixed(1).padStart(8)}${(w - f).toFixed(1).padStart(8)}  ${name}`,
    );
  console.log(`${"webhook".padStart(8)}${"floor".padStart(8)}${"gap".padStart(8)}`);
  line("all (busy time)", ours!.busy, base!.busy);
  ours!.parts.forEach((p, i) => {
    const f = base!.parts[i]!.us;
    if (p.us >= 0.05 || f >= 0.05) line(p.name, p.us, f);
  });
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
