// The product's processes in the lab: `kube-nftlb <command>` inside the node namespace (as the
// DaemonSet runs with hostNetwork), output appended to a log file in the lab's directory (a pipe
// nobody reads would block them). Living in a lab namespace, they are killed by lab/net's
// cleanup of a crashed run, like everything else there.
import { spawn, type ChildProcess, type SpawnOptions } from "node:child_process";
import { appendFileSync, closeSync, openSync, readFileSync } from "node:fs";
import { stopChild } from "../net/processes.ts";
import { NODE } from "../net/sys.ts";
import { BIN } from "./deploy-args.ts";

export interface ProductProcess {
  name: string;
  pid: number;
  child: ChildProcess;
  logFile: string;
  tail(lines?: number): string;
  stop(): Promise<void>;
}

export function startProduct(
  name: string,
  ns: string | undefined,
  args: string[],
  logFile: string,
  /** added to this process's environment (e.g. a benchmark's trace file) */
  env?: Record<string, string>,
): ProductProcess {
  const fd = openSync(logFile, "a", 0o600);
  const argv = [NODE, BIN, ...args];
  const opts: SpawnOptions = {
    stdio: ["ignore", fd, fd],
    ...(env ? { env: { ...process.env, ...env } } : {}),
  };
  const child = ns ? spawn("ip", ["netns", "exec", ns, ...argv], opts) : spawn(argv[0]!, argv.slice(1), opts);
  closeSync(fd);
  // A spawn failure arrives as an 'error' event: into the log, where waitReady reports it.
  child.on("error", (err) => appendFileSync(logFile, `lab: cannot start ${name}: ${err.message}\n`));
  const tail = (lines = 20) => {
    try {
      return readFileSync(logFile, "utf8").trimEnd().split("\n").slice(-lines).join("\n");
    } catch {
      return "";
    }
  };
  return {
    name,
    pid: child.pid ?? 0,
    child,
    logFile,
    tail,
    stop: () => stopChild(child, 5000),
  };
}

/** Resolves with the exit code. */
export const exited = (p: ProductProcess): Promise<number> =>
  new Promise((resolve) => {
    if (p.child.exitCode !== null) return resolve(p.child.exitCode);
    p.child.once("exit", (code) => resolve(code ?? 1));
    p.child.once("error", () => resolve(127));
  });

/** Polls an HTTP URL until it answers 200; fails early when the process exits. */
export async function waitReady(url: string, p: ProductProcess, deadlineMs: number): Promise<void> {
  const deadline = Date.now() + deadlineMs;
  while (Date.now() < deadline) {
    // a signal (the lab stopping it) ends it too: exitCode stays null then
    const end = p.child.exitCode ?? p.child.signalCode;
    if (end !== null) throw new Error(`${p.name} exited (${end}):\n${p.tail()}`);
    try {
      const r = await fetch(url, { signal: AbortSignal.timeout(1000) });
      if (r.status === 200) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`${p.name} not ready at ${url} after ${deadlineMs} ms:\n${p.tail()}`);
}
