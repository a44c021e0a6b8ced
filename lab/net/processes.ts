// Long-running processes inside namespaces: nftlb, backends (backend-server.ts) and the client agent.
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { readFileSync } from "node:fs";
import net from "node:net";
import readline from "node:readline";
import path from "node:path";
import { LAB_DIR, NODE } from "./sys.ts";

export interface Running {
  child: ChildProcess;
  /** Last lines of stderr, to explain a failure. */
  logs(): string;
  stop(): Promise<void>;
}

const keepTail = (child: ChildProcess): (() => string) => {
  const lines: string[] = [];
  child.stderr?.setEncoding("utf8");
  child.stderr?.on("data", (d: string) => {
    lines.push(...d.split("\n").filter(Boolean));
    lines.splice(0, Math.max(0, lines.length - 2000));
  });
  return () => lines.join("\n");
};

/** SIGTERM, and SIGKILL if it has not exited `graceMs` later; resolves once it has exited. */
export const stopChild = (child: ChildProcess, graceMs = 2000): Promise<void> =>
  new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    child.once("exit", () => resolve());
    child.kill("SIGTERM");
    setTimeout(() => child.kill("SIGKILL"), graceMs).unref();
  });

export const spawnInNs = (ns: string, argv: string[], env: Record<string, string> = {}): Running => {
  const child = spawn("ip", ["netns", "exec", ns, ...argv], {
    stdio: ["pipe", "pipe", "pipe"],
    env: { ...process.env, ...env },
  });
  const logs = keepTail(child);
  return { child, logs, stop: () => stopChild(child) };
};

/** Resolves on the first stdout line matching `ready`, rejects if the process exits first or the deadline passes. */
export const waitForLine = (running: Running, ready: RegExp, deadlineMs: number): Promise<void> =>
  new Promise((resolve, reject) => {
    const lines = readline.createInterface({ input: running.child.stdout! });
    const fail = (why: string) => {
      clearTimeout(timer);
      reject(new Error(`${why}: ${running.logs()}`));
    };
    const timer = setTimeout(() => fail(`not ready within ${deadlineMs} ms`), deadlineMs);
    running.child.once("exit", (code) => fail(`exited with ${code}`));
    lines.on("line", (line) => {
      if (ready.test(line)) {
        clearTimeout(timer);
        resolve();
      }
    });
  });

const canConnect = (host: string, port: number): Promise<boolean> =>
  new Promise((resolve) => {
    const s = net.connect({ host, port });
    s.once("connect", () => {
      s.destroy();
      resolve(true);
    });
    s.once("error", () => resolve(false));
  });

/** Polls until something accepts connections on host:port (nftlb opens its port only when ready). */
export const waitForPort = async (host: string, port: number, deadlineMs: number, running?: Running) => {
  const deadline = Date.now() + deadlineMs;
  while (Date.now() < deadline) {
    if (running && running.child.exitCode !== null) throw new Error(`exited: ${running.logs()}`);
    if (await canConnect(host, port)) return;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(
    `nothing listens on ${host}:${port} after ${deadlineMs} ms${running ? `: ${running.logs()}` : ""}`,
  );
};

/**
 * The pid of the nftlb daemon in network namespace `ns` (it changes with every restart), or
 * undefined when none runs there: what tests stop with SIGSTOP and benchmarks read /proc of.
 */
export const nftlbPid = (ns: string): number | undefined =>
  execFileSync("ip", ["netns", "pids", ns], { encoding: "utf8" })
    .split(/\s+/)
    .filter(Boolean)
    .map(Number)
    .find((pid) => {
      try {
        return readFileSync(`/proc/${pid}/comm`, "utf8").trim() === "nftlb";
      } catch {
        return false; // gone since it was listed
      }
    });

export const startNftlb = async (ns: string, host: string, port: number, key: string): Promise<Running> => {
  // The key goes through the environment, not argv (argv is visible in `ps`).
  const nftlb = spawnInNs(
    ns,
    ["nftlb", "-H", host, "-P", String(port), "-L", "2", "-l", process.env.KNL_NFTLB_LOG_LEVEL ?? "4"],
    {
      NFTLB_SERVER_KEY: key,
    },
  );
  await waitForPort(host, port, 15_000, nftlb);
  return nftlb;
};

/** What a backend-server.ts answers on, and where it says hello (the gateway: the node learns its MAC). */
export interface BackendPorts {
  tcp: readonly number[];
  udp: readonly number[];
  hello?: string;
}

/** backend-server.ts in `ns`, not yet waited for: it prints "ready" once every socket listens. */
export const spawnBackend = (ns: string, name: string, o: BackendPorts): Running =>
  spawnInNs(ns, [
    NODE,
    path.join(LAB_DIR, "backend-server.ts"),
    "--name",
    name,
    ...o.tcp.flatMap((p) => ["--tcp", String(p)]),
    ...o.udp.flatMap((p) => ["--udp", String(p)]),
    ...(o.hello ? ["--hello", o.hello] : []),
  ]);

/** A lab/net backend: TCP and UDP on each of `ports`, ready. */
export const startBackend = async (
  ns: string,
  name: string,
  ports: number[],
  hello?: string,
): Promise<Running> => {
  const echo = spawnBackend(ns, name, { tcp: ports, udp: ports, ...(hello ? { hello } : {}) });
  await waitForLine(echo, /^ready$/, 10_000);
  return echo;
};
