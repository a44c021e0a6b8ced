// The adapter that puts kube-nftlb's table (node-rules.ts) into the kernel: the `nft` binary,
// fed the script on stdin (`nft -f -`: one transaction). Errors are values, never thrown: a
// missing binary, a missing capability or a script nft refuses all come back as text to log.
import { spawn } from "node:child_process";
import { removeScript, renderNodeRules, TABLE, TABLE_FAMILY, type NodeRules } from "./node-rules.ts";

export type TableResult<T = void> = { ok: true; value: T } | { ok: false; error: string };

export interface NodeRulesTable {
  /** Replaces the table's whole content with these rules (one transaction). */
  apply(rules: NodeRules): Promise<TableResult>;
  /** Whether `table inet kube-nftlb` exists (someone may have flushed the ruleset). */
  exists(): Promise<TableResult<boolean>>;
  /** Deletes the table; ok when there was none. */
  remove(): Promise<TableResult>;
}

export interface NftOptions {
  /** The nft command, e.g. ["nft"] (default) or ["ip", "netns", "exec", "ns", "nft"] in tests. */
  command?: readonly string[];
  timeoutMs?: number;
}

interface Ran {
  code: number | null;
  stdout: string;
  stderr: string;
  failed?: string;
}

/** At most this much of nft's complaint goes into an error: enough for its first errors. */
const MAX_ERROR = 600;

function runNft(command: readonly string[], args: string[], input: string, timeoutMs: number): Promise<Ran> {
  return new Promise((resolve) => {
    let stdout = "";
    let stderr = "";
    let settled = false;
    const done = (r: Ran) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(r);
    };
    const child = spawn(command[0]!, [...command.slice(1), ...args], { stdio: ["pipe", "pipe", "pipe"] });
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      done({ code: null, stdout, stderr, failed: `no answer within ${timeoutMs} ms` });
    }, timeoutMs);
    child.stdout.setEncoding("utf8").on("data", (d: string) => (stdout += d));
    child.stderr.setEncoding("utf8").on("data", (d: string) => (stderr += d));
    child.on("error", (err: NodeJS.ErrnoException) =>
      done({ code: null, stdout, stderr, failed: `cannot run ${command[0]}: ${err.code ?? err.message}` }),
    );
    child.on("close", (code) => done({ code, stdout, stderr }));
    // A child that died before reading its input makes stdin emit EPIPE: the exit says why.
    child.stdin.on("error", () => undefined);
    child.stdin.end(input);
  });
}

const complaint = (r: Ran): string =>
  r.failed ??
  `nft exited with ${r.code}: ${r.stderr.trim().replace(/\s+/g, " ") || "(no message)"}`.slice(0, MAX_ERROR);

export function nftTable(options: NftOptions = {}): NodeRulesTable {
  const command = options.command ?? ["nft"];
  const timeoutMs = options.timeoutMs ?? 30_000;
  const script = async (text: string): Promise<TableResult> => {
    const r = await runNft(command, ["-f", "-"], text, timeoutMs);
    return r.code === 0 ? { ok: true, value: undefined } : { ok: false, error: complaint(r) };
  };
  return {
    apply: (rules) => script(renderNodeRules(rules)),
    remove: () => script(removeScript()),
    async exists() {
      // `list tables` names the tables only: cheap whatever the size of ours.
      const r = await runNft(command, ["list", "tables", TABLE_FAMILY], "", timeoutMs);
      if (r.code !== 0) return { ok: false, error: complaint(r) };
      return {
        ok: true,
        value: r.stdout.split("\n").some((l) => l.trim() === `table ${TABLE_FAMILY} ${TABLE}`),
      };
    },
  };
}
