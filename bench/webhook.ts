// Admission webhook throughput and latency over HTTPS keep-alive, next to a floor: a minimal
// express HTTPS server answering a constant AdmissionReview. Printed, never asserted.
//   npm run bench -- webhook            (or: node bench/webhook.ts [--seconds N] [--rounds N])
// The load generator runs in a worker thread, so it does not share the servers' event loop;
// both still share the machine's CPUs, as a client and server on one host do.
import { once } from "node:events";
import { Agent, createServer, request } from "node:https";
import type { AddressInfo } from "node:net";
import { cpus, loadavg } from "node:os";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { isMainThread, parentPort, Worker, workerData } from "node:worker_threads";
import express from "express";
import { pino } from "pino";
import { startWebhook } from "../webhook/server.ts";
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

interface Job {
  port: number;
  ca: string;
  path: string;
  body: string;
  concurrency: number;
  warmupMs: number;
  ms: number;
}
interface Result {
  requests: number;
  errors: number;
  seconds: number;
  p50: number;
  p99: number;
}

async function load(job: Job): Promise<Result> {
  const agent = new Agent({ keepAlive: true, maxSockets: job.concurrency });
  const latencies: number[] = [];
  let errors = 0;
  let measuring = false;
  let stop = false;
  const one = () =>
    new Promise<void>((resolve) => {
      const t0 = performance.now();
      const req = request(
        {
          host: "127.0.0.1",
          port: job.port,
          path: job.path,
          method: "POST",
          ca: job.ca,
          agent,
          headers: { "content-type": "application/json", "content-length": Buffer.byteLength(job.body) },
        },
        (res) => {
          res.resume();
          res.on("end", () => {
            if (measuring) {
              if (res.statusCode === 200) latencies.push(performance.now() - t0);
              else errors++;
            }
            resolve();
          });
        },
      );
      req.on("error", () => {
        if (measuring) errors++;
        resolve();
      });
      req.end(job.body);
    });
  const loop = async () => {
    while (!stop) await one();
  };
  const loops = Array.from({ length: job.concurrency }, loop);
  await new Promise((r) => setTimeout(r, job.warmupMs));
  measuring = true;
  const start = performance.now();
  await new Promise((r) => setTimeout(r, job.ms));
  measuring = false;
  const seconds = (performance.now() - start) / 1000;
  stop = true;
  await Promise.all(loops);
  agent.destroy();
  latencies.sort((a, b) => a - b);
  const q = (p: number) => latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))] ?? NaN;
  return { requests: latencies.length, errors, seconds, p50: q(0.5), p99: q(0.99) };
}

if (!isMainThread) {
  parentPort?.postMessage(await load(workerData as Job));
} else {
  const { values } = parseArgs({
    options: { seconds: { type: "string", default: "3" }, rounds: { type: "string", default: "2" } },
  });
  const rounds = Math.max(1, Number(values.rounds));
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;
  const merge = (rs: Result[]): Result => ({
    requests: rs.reduce((a, r) => a + r.requests, 0),
    errors: rs.reduce((a, r) => a + r.errors, 0),
    seconds: rs.reduce((a, r) => a + r.seconds, 0),
    p50: median(rs.map((r) => r.p50)),
    p99: median(rs.map((r) => r.p99)),
  });
  const ms = Number(values.seconds) * 1000;
  const dir = mkdtempSync(join(tmpdir(), "bench-webhook-"));
  const ca = makeCa();
  const leaf = ca.sign("bench");
  writeFileSync(join(dir, "tls.crt"), leaf.cert);
  writeFileSync(join(dir, "tls.key"), leaf.key);

  // The webhook as deployed: JSON logs at info (one line per review), here to /dev/null.
  const log = pino({ level: "info" }, pino.destination({ dest: "/dev/null", sync: false }));
  const webhook = await startWebhook({
    tlsCert: join(dir, "tls.crt"),
    tlsKey: join(dir, "tls.key"),
    port: 0,
    probePort: 0,
    host: "127.0.0.1",
    log,
  });

  // The floor: express over HTTPS, the body read but not parsed, one constant answer.
  const constant = JSON.stringify({
    apiVersion: "admission.k8s.io/v1",
    kind: "AdmissionReview",
    response: { uid: "constant", allowed: true },
  });
  const floorApp = express();
  floorApp.post("/{*path}", (req, res) => {
    req.resume();
    req.on("end", () => res.type("application/json").send(constant));
  });
  const floor = createServer({ cert: leaf.cert, key: leaf.key, minVersion: "TLSv1.2" }, floorApp);
  floor.keepAliveTimeout = 120_000;
  floor.listen(0, "127.0.0.1");
  await once(floor, "listening");
  const floorPort = (floor.address() as AddressInfo).port;

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

  // The pure work per review (JSON parse, AdmissionReview and Service parse, the contract), without
  // HTTP: what the webhook adds on top of any server.
  for (const [name, body, judge] of [
    ["validate", bodies.validate, validate],
    ["mutate", bodies.mutate, mutate],
  ] as const) {
    const once = () => {
      const r = parseReview(JSON.parse(body));
      if (r.ok) judge(r.request);
    };
    for (let i = 0; i < 5_000; i++) once();
    const n = 50_000;
    const t0 = performance.now();
    for (let i = 0; i < n; i++) once();
    console.log(
      `pure ${name}: ${(((performance.now() - t0) * 1000) / n).toFixed(1)} µs per review (no HTTP)`,
    );
  }

  const run = async (port: number, path: string, body: string, concurrency: number): Promise<Result> => {
    const worker = new Worker(new URL(import.meta.url), {
      workerData: { port, ca: ca.cert, path, body, concurrency, warmupMs: 500, ms } satisfies Job,
    });
    const [result] = (await once(worker, "message")) as [Result];
    await worker.terminate();
    return result;
  };

  console.log(
    `node ${process.version}, ${cpus().length} CPU(s) (${cpus()[0]?.model ?? "?"}), ${values.seconds} s × ${rounds} rounds per cell, load average ${loadavg()[0]?.toFixed(1)}, ` +
      `bodies: validate ${bodies.validate.length} B, mutate ${bodies.mutate.length} B`,
  );
  const row = (cells: (string | number)[]) =>
    console.log(cells.map((c, i) => String(c).padStart(i === 0 ? 10 : 12)).join(""));
  row(["path", "concurrency", "req/s", "p50 ms", "p99 ms", "errors", "floor req/s", "ratio"]);
  for (const concurrency of [1, 16, 64]) {
    for (const path of ["validate", "mutate"] as const) {
      // Alternate the order over rounds (floor first, then webhook first) so drift in the
      // machine's load does not favour either side; sums give the throughput, medians the rest.
      const bases: Result[] = [];
      const ourss: Result[] = [];
      for (let round = 0; round < rounds; round++) {
        if (round % 2 === 0) bases.push(await run(floorPort, `/${path}`, bodies[path], concurrency));
        ourss.push(await run(webhook.port, `/${path}`, bodies[path], concurrency));
        if (round % 2 === 1) bases.push(await run(floorPort, `/${path}`, bodies[path], concurrency));
      }
      const base = merge(bases);
      const ours = merge(ourss);
      const rps = (r: Result) => r.requests / r.seconds;
      row([
        `/${path}`,
        concurrency,
        rps(ours).toFixed(0),
        ours.p50.toFixed(2),
        ours.p99.toFixed(2),
        ours.errors,
        rps(base).toFixed(0),
        (rps(ours) / rps(base)).toFixed(2),
      ]);
      row([
        "  floor",
        concurrency,
        rps(base).toFixed(0),
        base.p50.toFixed(2),
        base.p99.toFixed(2),
        base.errors,
        "",
        "",
      ]);
    }
  }
  await webhook.close();
  floor.close();
  floor.closeAllConnections();
  rmSync(dir, { recursive: true, force: true });
}
