// Thin wrappers over `ip`, used by the test network. Commands are argv arrays, never shell text.
import { execFile, execFileSync } from "node:child_process";
import { accessSync, constants } from "node:fs";
import process from "node:process";
import path from "node:path";

/** The Node 24 binary of the project (the machine's `node` may be older). */
export const NODE = process.execPath;
export const LAB_DIR = path.dirname(new URL(import.meta.url).pathname);

export const run = (argv: string[], input?: string): Promise<string> =>
  new Promise((resolve, reject) => {
    const child = execFile(argv[0]!, argv.slice(1), { timeout: 20_000 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`${argv.join(" ")}: ${stderr.trim() || err.message}`));
      else resolve(stdout);
    });
    if (input !== undefined) child.stdin?.end(input);
  });

/** `ip -batch -`: many changes in one process (creating 20 backends takes one call, not 200). */
export const ipBatch = (lines: string[], ns?: string): Promise<string> =>
  run([...(ns ? ["ip", "-n", ns] : ["ip"]), "-batch", "-"], `${lines.join("\n")}\n`);

export const inNs = (ns: string, argv: string[]): Promise<string> =>
  run(["ip", "netns", "exec", ns, ...argv]);

export const sysctl = (ns: string, settings: Record<string, string>): Promise<string> =>
  inNs(ns, ["sysctl", "-q", "-w", ...Object.entries(settings).map(([k, v]) => `${k}=${v}`)]);

/** Best effort and synchronous: for `process.on("exit")`, where nothing async runs any more. */
export const runQuiet = (argv: string[]): string => {
  try {
    return execFileSync(argv[0]!, argv.slice(1), {
      stdio: ["ignore", "pipe", "ignore"],
      timeout: 10_000,
    }).toString();
  } catch {
    return "";
  }
};

const onPath = (bin: string): boolean =>
  (process.env.PATH ?? "/usr/sbin:/usr/bin:/sbin:/bin")
    .split(":")
    .concat(["/usr/sbin", "/sbin"])
    .some((dir) => {
      try {
        accessSync(path.join(dir, bin), constants.X_OK);
        return true;
      } catch {
        return false;
      }
    });

/** Why the test network cannot be built here, or undefined when it can. */
export const cannotBuildNetwork = (): string | undefined => {
  if (process.getuid?.() !== 0) return "needs root (network namespaces): run as root, as CI does";
  for (const bin of ["ip", "nftlb", "nft"]) {
    if (!onPath(bin)) return `needs \`${bin}\` (apt-get install iproute2 nftlb nftables; .ci/run does)`;
  }
  return undefined;
};
