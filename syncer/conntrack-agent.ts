// The conntrack agent: the only kube-nftlb process that holds CAP_NET_ADMIN (and nothing else).
// It runs in its own container of the node pod, as uid 0 with every other capability dropped, no
// API token and a read-only root filesystem, and listens on a unix socket in an in-memory volume
// it shares with the syncer. The syncer (non-root, no capabilities, the API token) sends the UDP
// Service addresses and their serving backends after each verified write; the agent lists the
// node's UDP conntrack entries, deletes the stale ones (conntrack-plan.ts) and answers counts.
// Protocol: one JSON line each way per connection:
//   → {"frontends":[{"family":"ipv4","ip":"10.96.0.10","port":53,"serving":["10.244.0.5"]}]}
//   ← {"ok":true,"deleted":1,"skipped":0} | {"ok":false,"error":"…"}
// Input is validated as a boundary: anything else is answered with an error and changes nothing.
import { chmodSync, rmSync } from "node:fs";
import net from "node:net";
import { z } from "zod";
import { parseIp } from "../nftlb/ip.ts";
import type { UdpFrontend } from "./conntrack-plan.ts";
import type { CleanResult, ConntrackCleaner, FrontendCleaner } from "./conntrack-tool.ts";
import { overFrontends } from "./conntrack-tool.ts";

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
  let doc: unknown;
  try {
    doc = JSON.parse(line);
  } catch {
    return { ok: false, error: "the request is not JSON" };
  }
  const r = Request.safeParse(doc);
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

export interface ConntrackAgent {
  close(): Promise<void>;
}

/** Serves `socket` (mode 0660: the pod's group, which the syncer has, may connect). */
export async function startConntrackAgent(o: {
  socket: string;
  clean: FrontendCleaner;
  log: { info(o: object, m: string): void; warn(o: object, m: string): void };
}): Promise<ConntrackAgent> {
  rmSync(o.socket, { force: true });
  // One request at a time: two cleanups of one table at once would only race each other.
  let queue: Promise<unknown> = Promise.resolve();
  const server = net.createServer((conn) => {
    let buf = "";
    let asked = false;
    conn.setEncoding("utf8");
    conn.setTimeout(30_000, () => conn.destroy());
    const answer = (r: CleanResult) => conn.end(`${JSON.stringify(r)}\n`);
    conn.on("data", (d: string) => {
      // One request per connection: whatever follows it is ignored (still read, so the
      // connection can end).
      if (asked) return;
      buf += d;
      if (buf.length > MAX_REQUEST) {
        buf = "";
        asked = true;
        answer({ ok: false, error: `request over ${MAX_REQUEST} bytes` });
        return;
      }
      const nl = buf.indexOf("\n");
      if (nl < 0) return;
      const req = parseRequest(buf.slice(0, nl));
      buf = "";
      asked = true;
      if (!req.ok) {
        o.log.warn({ err: req.error }, "conntrack agent: bad request");
        return answer(req);
      }
      queue = queue.then(async () => {
        const r = await o.clean(req.frontends);
        if (!r.ok) o.log.warn({ err: r.error }, "conntrack cleanup failed");
        else if (r.deleted > 0) o.log.info({ deleted: r.deleted }, "stale UDP conntrack entries deleted");
        answer(r);
      });
    });
    conn.on("error", () => undefined);
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(o.socket, () => resolve());
  });
  chmodSync(o.socket, 0o660);
  return {
    close: () =>
      new Promise((resolve) => {
        server.close(() => resolve());
        rmSync(o.socket, { force: true });
      }),
  };
}

/** The syncer's side: a ConntrackCleaner that asks the agent at `socket`. */
export function agentCleaner(socket: string, timeoutMs = 30_000): ConntrackCleaner {
  return overFrontends(
    (frontends) =>
      new Promise((resolve) => {
        const body = JSON.stringify({
          frontends: frontends.map((f) => ({
            family: f.family,
            ip: f.ip,
            port: f.port,
            serving: [...f.serving],
          })),
        });
        let buf = "";
        const conn = net.connect(socket);
        const fail = (error: string) => {
          conn.destroy();
          resolve({ ok: false, error });
        };
        conn.setTimeout(timeoutMs, () => fail(`the conntrack agent did not answer within ${timeoutMs} ms`));
        conn.setEncoding("utf8");
        conn.on("connect", () => conn.write(`${body}\n`));
        conn.on(
          "data",
          (d: string) => (buf += d).length > 65_536 && fail("the conntrack agent's answer is too long"),
        );
        conn.on("error", (e: NodeJS.ErrnoException) =>
          fail(`conntrack agent at ${socket}: ${e.code ?? e.message}`),
        );
        conn.on("end", () => {
          const r = z
            .union([
              z.object({ ok: z.literal(true), deleted: z.number(), skipped: z.number() }),
              z.object({ ok: z.literal(false), error: z.string() }),
            ])
            .safeParse(safeJson(buf));
          resolve(r.success ? r.data : { ok: false, error: "the conntrack agent's answer is not one" });
        });
      }),
  );
}

const safeJson = (s: string): unknown => {
  try {
    return JSON.parse(s);
  } catch {
    return undefined;
  }
};
