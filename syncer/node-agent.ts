// A node agent: the small process of the node pod that holds CAP_NET_ADMIN for one job (node
// rules: kube-nftlb's nftables table; conntrack: stale UDP flows) and nothing else, while the
// syncer, which holds the API token and nftlb's key, keeps no capability at all. The two share
// everything but the job: a unix socket in a volume the pod shares (mode 0660: the pod's group,
// which the syncer has, may connect), one JSON request line and one JSON answer line per
// connection, requests served one at a time (two nft or conntrack runs at once would only race
// each other), input checked as a boundary by the agent's own parser.
import { chmodSync, rmSync } from "node:fs";
import net from "node:net";

export interface NodeAgentLog {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

export interface NodeAgent {
  close(): Promise<void>;
}

export type Parsed<T> = { ok: true; value: T } | { ok: false; error: string };

/** A connection that has not sent its request line by then is dropped. */
const REQUEST_TIMEOUT_MS = 30_000;
/** An answer longer than this is not one (answers are a few words). */
const MAX_ANSWER_BYTES = 1024 * 1024;

/** The request line's JSON, or why not. */
export function jsonLine(line: string): Parsed<unknown> {
  try {
    return { ok: true, value: JSON.parse(line) as unknown };
  } catch {
    return { ok: false, error: "the request is not JSON" };
  }
}

export async function serveNodeAgent<T>(o: {
  /** Names the agent in its log lines: "node-rules agent". */
  name: string;
  socket: string;
  maxRequestBytes: number;
  parse: (line: string) => Parsed<T>;
  /** Serves one parsed request; its answer is sent as a JSON line. */
  handle: (request: T) => Promise<object>;
  log: NodeAgentLog;
}): Promise<NodeAgent> {
  rmSync(o.socket, { force: true });
  let queue: Promise<unknown> = Promise.resolve();
  const server = net.createServer((conn) => {
    let buf = "";
    let asked = false;
    conn.setEncoding("utf8");
    conn.setTimeout(REQUEST_TIMEOUT_MS, () => conn.destroy());
    const answer = (r: object) => conn.end(`${JSON.stringify(r)}\n`);
    conn.on("data", (d: string) => {
      // One request per connection: whatever follows it is ignored (still read, so the
      // connection can end).
      if (asked) return;
      buf += d;
      if (buf.length > o.maxRequestBytes) {
        buf = "";
        asked = true;
        answer({ ok: false, error: `request over ${o.maxRequestBytes} bytes` });
        return;
      }
      const nl = buf.indexOf("\n");
      if (nl < 0) return;
      const req = o.parse(buf.slice(0, nl));
      buf = "";
      asked = true;
      // The request is in: the job may take longer than the wait for it.
      conn.setTimeout(0);
      if (!req.ok) {
        o.log.warn({ err: req.error }, `${o.name}: bad request`);
        return answer(req);
      }
      queue = queue
        .then(() => o.handle(req.value))
        .then(answer, (err: unknown) => answer({ ok: false, error: String(err) }));
    });
    conn.on("error", () => undefined);
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(o.socket, () => resolve());
  });
  // The socket's group is the volume's (the pod's fsGroup, which the syncer has too).
  chmodSync(o.socket, 0o660);
  o.log.info({ socket: o.socket }, `${o.name} listening`);
  return {
    close: () =>
      new Promise((resolve) => {
        server.close(() => resolve());
        rmSync(o.socket, { force: true });
      }),
  };
}

/**
 * The syncer's side: one request to the agent at `socket`, its answer's JSON (for the agent's
 * own schema to check). Errors are values: no agent, no answer in time, a garbled answer.
 */
export function askNodeAgent(
  name: string,
  socket: string,
  request: object,
  timeoutMs: number,
): Promise<Parsed<unknown>> {
  return new Promise((resolve) => {
    let buf = "";
    let settled = false;
    const conn = net.connect(socket);
    const done = (r: Parsed<unknown>) => {
      if (settled) return;
      settled = true;
      conn.destroy();
      resolve(r);
    };
    conn.setTimeout(timeoutMs, () => done({ ok: false, error: `${name}: no answer within ${timeoutMs} ms` }));
    conn.setEncoding("utf8");
    conn.on("connect", () => conn.write(`${JSON.stringify(request)}\n`));
    conn.on("data", (d: string) => {
      buf += d;
      const nl = buf.indexOf("\n");
      if (nl >= 0) {
        const r = jsonLine(buf.slice(0, nl));
        return done(r.ok ? r : { ok: false, error: `${name}: the answer is not JSON` });
      }
      if (buf.length > MAX_ANSWER_BYTES)
        done({ ok: false, error: `${name}: answer over ${MAX_ANSWER_BYTES} bytes` });
    });
    conn.on("error", (e: NodeJS.ErrnoException) =>
      done({ ok: false, error: `${name} at ${socket}: ${e.code ?? e.message}` }),
    );
    conn.on("close", () => done({ ok: false, error: `${name} closed the connection without an answer` }));
  });
}
