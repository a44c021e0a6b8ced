// The thin adapter over Debian's `conntrack` tool (conntrack-tools): list the node's UDP entries,
// plan with conntrack-plan.ts, delete the stale ones, one `conntrack -D` per (address, port,
// reply source) — the filter kube-proxy uses. argv arrays only, never a shell. It needs
// CAP_NET_ADMIN in the node's network namespace (see docs/operators.md for who holds it).
import { execFile } from "node:child_process";
import type { Farm } from "../nftlb/types.ts";
import {
  parseConntrackList,
  staleFlows,
  udpFrontends,
  type Deletion,
  type UdpFrontend,
} from "./conntrack-plan.ts";

/** Runs `conntrack` with these arguments: its exit code and output (never throws). */
export type ConntrackExec = (
  args: readonly string[],
) => Promise<{ code: number; stdout: string; stderr: string }>;

export type CleanResult = { ok: true; deleted: number; skipped: number } | { ok: false; error: string };

export interface ConntrackCleaner {
  /** After a verified write: delete the UDP flows no serving backend answers. */
  clean(farms: Iterable<Farm>): Promise<CleanResult>;
}

/** The part that needs CAP_NET_ADMIN: list, plan, delete for these Service addresses. */
export type FrontendCleaner = (frontends: readonly UdpFrontend[]) => Promise<CleanResult>;

export const execConntrack =
  (bin = "conntrack"): ConntrackExec =>
  (args) =>
    new Promise((resolve) => {
      execFile(bin, [...args], { timeout: 10_000, maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
        const code = err === null ? 0 : typeof err.code === "number" ? err.code : 127;
        resolve({ code, stdout, stderr: stderr || (err !== null && code === 127 ? err.message : "") });
      });
    });

const deleteArgs = (d: Deletion): string[] => [
  "-D",
  "-p",
  "udp",
  "-f",
  d.family,
  "--orig-dst",
  d.origDst,
  "--orig-port-dst",
  String(d.origDport),
  "--reply-src",
  d.replySrc,
];

// conntrack -D exits 1 with this when the entry is already gone (it expired, or a packet raced us).
const NOTHING_DELETED = /0 flow entries have been deleted/;

/** Runs the conntrack tool itself (the process needs CAP_NET_ADMIN in the node's namespace). */
export const conntrackCleaner = (exec: ConntrackExec = execConntrack()): ConntrackCleaner =>
  overFrontends(cleanWithTool(exec));

/** Farms → their UDP addresses, handed to `clean` (here, or in the conntrack agent). */
export const overFrontends = (clean: FrontendCleaner): ConntrackCleaner => ({
  clean: async (farms) => {
    const frontends = udpFrontends(farms);
    return frontends.length === 0 ? { ok: true, deleted: 0, skipped: 0 } : clean(frontends);
  },
});

export function cleanWithTool(exec: ConntrackExec): FrontendCleaner {
  return async (frontends) => {
    let deleted = 0;
    let skipped = 0;
    for (const family of ["ipv4", "ipv6"] as const) {
      const mine = frontends.filter((f) => f.family === family);
      if (mine.length === 0) continue;
      const listed = await exec(["-L", "-p", "udp", "-f", family]);
      if (listed.code !== 0)
        return { ok: false, error: `conntrack -L: ${firstLine(listed.stderr) || `exit ${listed.code}`}` };
      const parsed = parseConntrackList(listed.stdout);
      skipped += parsed.skipped;
      for (const d of staleFlows(parsed.flows, mine)) {
        const r = await exec(deleteArgs(d));
        if (r.code === 0) deleted++;
        else if (!NOTHING_DELETED.test(r.stderr))
          return { ok: false, error: `conntrack -D: ${firstLine(r.stderr) || `exit ${r.code}`}` };
      }
    }
    return { ok: true, deleted, skipped };
  };
}

const firstLine = (s: string): string => s.trim().split("\n")[0]?.slice(0, 300) ?? "";
