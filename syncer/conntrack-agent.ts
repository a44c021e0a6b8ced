// The conntrack agent: it holds CAP_NET_ADMIN and nothing else, like the node-rules agent
// (syncer/node-rules-agent.ts); no other kube-nftlb process of the node pod has it. It runs
// in its own container of the node pod, as uid 0 with every other capability dropped, no
// API token and a read-only root filesystem, and listens on a unix socket in an in-memory volume
// it shares with the syncer. The syncer (non-root, no capabilities, the API token) sends the UDP
// Service addresses and their serving backends after each verified write; the agent lists the
// node's UDP conntrack entries, deletes the stale ones (conntrack-plan.ts) and answers counts.
// Protocol (node-agent.ts, shared with the node-rules agent): one JSON line each way per connection:
//   → {"frontends":[{"family":"ipv4","ip":"10.96.0.10","port":53,"serving":["10.244.0.5"]}]}
//   ← {"ok":true,"deleted":1,"skipped":0} | {"ok":false,"error":"…"}
// Input is validated as a boundary: anything else is answered with an error and changes nothing.
import { z } from "zod";
import { parseIp } from "../nftlb/ip.ts";
import type { UdpFrontend } from "./conntrack-plan.ts";
import type { CleanResult, ConntrackCleaner, FrontendCleaner } from "./conntrack-tool.ts";
import { overFrontends } from "./conntrack-tool.ts";
import {
  askNodeAgent,
  jsonLine,
  serveNodeAgent,
  type NodeAgent,
  type NodeAgentLog,
  type Parsed,
} from "./node-agent.ts";

/** A request bigger than this is refused (10,000 Services × 10 backends is about 3 MB). */
export const MAX_REQUEST = 16 * 1024 * 1024;

const ip = z.string().refine((v) => parseIp(v) !== undefined, "not an IP address");
const Request = z.strictObject({
  frontends: z
    .array(
      z.strictObject({
        family: z.enum(["ipv4", "ipv6"]),
        ip,
        port: z.number().int().min(1).max(65535),
        serving: z.array(ip).min(1),
      }),
    )
    .max(1_000_000),
});

/** A request line → frontends, or why not. Addresses come out canonical. */
export function parseRequest(
  line: string,
): { ok: true; frontends: UdpFrontend[] } | { ok: false; error: string } {
  const doc = jsonLine(line);
  if (!doc.ok) return doc;
  const r = Request.safeParse(doc.value);
  if (!r.success) return { ok: false, error: `invalid request: ${z.prettifyError(r.error).slice(0, 500)}` };
  return {
    ok: true,
    frontends: r.data.frontends.map((f) => ({
      family: f.family,
      ip: parseIp(f.ip)!.address,
      port: f.port,
      serving: new Set(f.serving.map((s) => parseIp(s)!.address)),
    })),
  };
}

export type ConntrackAgent = NodeAgent;

const NAME = "conntrack agent";

/** Serves `socket` (mode 0660: the pod's group, which the syncer has, may connect). */
export function startConntrackAgent(o: {
  socket: string;
  clean: FrontendCleaner;
  log: NodeAgentLog;
}): Promise<ConntrackAgent> {
  return serveNodeAgent({
    name: NAME,
    socket: o.socket,
    maxRequestBytes: MAX_REQUEST,
    parse: (line): Parsed<UdpFrontend[]> => {
      const r = parseRequest(line);
      return r.ok ? { ok: true, value: r.frontends } : r;
    },
    handle: async (frontends) => {
      const r = await o.clean(frontends);
      if (!r.ok) o.log.warn({ err: r.error }, "conntrack cleanup failed");
      else if (r.deleted > 0) o.log.info({ deleted: r.deleted }, "stale UDP conntrack entries deleted");
      return r;
    },
    log: o.log,
  });
}

const Answer = z.union([
  z.object({ ok: z.literal(true), deleted: z.number(), skipped: z.number() }),
  z.object({ ok: z.literal(false), error: z.string() }),
]);

/** The syncer's side: a ConntrackCleaner that asks the agent at `socket`. */
export function agentCleaner(socket: string, timeoutMs = 30_000): ConntrackCleaner {
  return overFrontends(async (frontends): Promise<CleanResult> => {
    const request = {
      frontends: frontends.map((f) => ({
        family: f.family,
        ip: f.ip,
        port: f.port,
        serving: [...f.serving],
      })),
    };
    const r = await askNodeAgent(NAME, socket, request, timeoutMs);
    if (!r.ok) return r;
    const answer = Answer.safeParse(r.value);
    return answer.success ? answer.data : { ok: false, error: "the conntrack agent's answer is not one" };
  });
}
