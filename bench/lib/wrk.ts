// Drives Debian's `wrk` (a C load generator, its own process) pinned with `taskset` to one CPU, so
// that the server under test and the load generator never share a core or an event loop.
import { execFile } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);

export interface WrkResult {
  rps: number;
  requests: number;
  /** Non-2xx answers plus socket errors (connect, read, write, timeout). */
  errors: number;
  p50: number;
  p99: number;
}

const UNIT: Record<string, number> = { us: 0.001, ms: 1, s: 1000, m: 60_000 };
const latency = (text: string, pct: string): number => {
  const m = new RegExp(`^\\s+${pct}%\\s+([\\d.]+)(us|ms|s|m)\\s*$`, "m").exec(text);
  return m ? Number(m[1]) * (UNIT[m[2]!] ?? NaN) : NaN;
};

/** Parses wrk's `--latency` report. Exported for its test. */
export function parseWrk(text: string): WrkResult {
  const rps = /^Requests\/sec:\s+([\d.]+)/m.exec(text);
  const total = /^\s*(\d+) requests in /m.exec(text);
  if (!rps || !total) throw new Error(`wrk printed no throughput:\n${text}`);
  const non2xx = Number(/Non-2xx or 3xx responses:\s+(\d+)/.exec(text)?.[1] ?? 0);
  const sock = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(text);
  const socketErrors = sock ? sock.slice(1).reduce((a, x) => a + Number(x), 0) : 0;
  return {
    rps: Number(rps[1]),
    requests: Number(total[1]),
    errors: non2xx + socketErrors,
    p50: latency(text, "50"),
    p99: latency(text, "99"),
  };
}

export interface WrkJob {
  url: string;
  body: string;
  connections: number;
  seconds: number;
  /** The CPU wrk runs on (taskset -c). */
  cpu: number;
}

/** One wrk run: POST `body` as application/json over keep-alive connections, one wrk thread. */
export async function wrk(job: WrkJob): Promise<WrkResult> {
  const dir = mkdtempSync(join(tmpdir(), "bench-wrk-"));
  try {
    const script = join(dir, "post.lua");
    if (job.body.includes("]==]")) throw new Error("body cannot be embedded in a Lua long string");
    writeFileSync(
      script,
      `wrk.method = "POST"\nwrk.headers["Content-Type"] = "application/json"\nwrk.body = [==[${job.body}]==]\n`,
    );
    const { stdout } = await run(
      "taskset",
      [
        "-c",
        String(job.cpu),
        "wrk",
        "-t1",
        `-c${job.connections}`,
        `-d${job.seconds}s`,
        "--latency",
        "-s",
        script,
        job.url,
      ],
      { maxBuffer: 1 << 20 },
    );
    return parseWrk(stdout);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
