// The probes lab/net/client-agent.ts runs for the host: one TCP connection (an HTTP answer's body)
// or one datagram from a fresh socket, each with its own deadline.
import net from "node:net";
import dgram from "node:dgram";
import process from "node:process";

/**
 * Runs `fn` once the event loop has polled its sockets twice more. A deadline's timer runs before
 * the loop reads sockets (libuv: timers, then poll), so a process that was starved of CPU past
 * the deadline would otherwise call a connection whose answer and FIN were already in its socket
 * buffer a timeout (captured: the answer whole within 60 ms, the agent's timer first). Twice:
 * reading starts only after a poll has seen the handshake, and the poll after that reads.
 */
export function afterPolled(fn: () => void): void {
  setImmediate(() => setImmediate(fn));
}

export interface Ask {
  id: number;
  proto: "tcp" | "udp";
  host: string;
  port: number;
  timeoutMs: number;
  from?: string;
  fromPort?: number;
}
export type Reply =
  | { ok: true; answer: string }
  | { ok: false; error: string; port?: number; startedAt?: number; failedAt?: number };

/** Wall-clock ms with µs, comparable with conntrack's and tcpdump's timestamps. */
const now = () => Math.round((performance.timeOrigin + performance.now()) * 1000) / 1000;

const bodyOf = (text: string) => {
  const i = text.indexOf("\r\n\r\n");
  return (i >= 0 ? text.slice(i + 4) : text).trim();
};

export const tcp = (ask: Ask): Promise<Reply> =>
  new Promise((resolve) => {
    let data = "";
    const startedAt = now();
    const socket = net.connect({
      host: ask.host,
      port: ask.port,
      ...(ask.from ? { localAddress: ask.from } : {}),
      ...(ask.fromPort ? { localPort: ask.fromPort } : {}),
    });
    // The source port, read once connect(2) has bound it (net's own nextTick, queued before this
    // one, calls it) and before an error closes the handle and forgets it.
    let port: number | undefined;
    process.nextTick(() => (port = socket.localPort));
    const failed = (error: string) => ({ ok: false as const, error, port, startedAt, failedAt: now() });
    let settled = false;
    const settle = (r: Reply) => {
      settled = true;
      resolve(r);
    };
    // Past the deadline, the socket is given loop turns for as long as each brings something that
    // was already there (the handshake's completion, bytes, the FIN: libuv reads them one poll at a
    // time); a turn that brings nothing ends it as a timeout.
    const progress = () => `${socket.connecting}|${data.length}`;
    const expire = (seen: string) => {
      if (settled) return;
      if (progress() !== seen) return afterPolled(() => expire(progress()));
      // Which step never finished: the handshake (a SYN or SYN-ACK lost) or the answer.
      const step = socket.connecting ? "no handshake" : data === "" ? "connected, no answer" : "answer cut";
      socket.destroy();
      settle(failed(`timeout (${step})`));
    };
    const timer = setTimeout(() => {
      const seen = progress();
      afterPolled(() => expire(seen));
    }, ask.timeoutMs);
    socket.setEncoding("utf8");
    socket.on("data", (d: string) => (data += d));
    socket.on("error", (e: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      settle(failed(e.code ?? e.message));
    });
    socket.on("end", () => {
      clearTimeout(timer);
      // A chosen source port must be usable again at once: RST, not TIME_WAIT.
      if (ask.fromPort) socket.resetAndDestroy();
      settle(data === "" ? failed("empty answer") : { ok: true, answer: bodyOf(data) });
    });
  });

export const udp = (ask: Ask): Promise<Reply> =>
  new Promise((resolve) => {
    // A fresh socket per request: a new source port (unless one is chosen), so a new conntrack
    // entry and a new choice.
    const socket = dgram.createSocket(net.isIPv6(ask.host) ? "udp6" : "udp4");
    let settled = false;
    const settle = (r: Reply) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.close();
      resolve(r);
    };
    const timer = setTimeout(() => afterPolled(() => settle({ ok: false, error: "timeout" })), ask.timeoutMs);
    socket.on("message", (msg) => settle({ ok: true, answer: msg.toString("utf8").trim() }));
    socket.on("error", (e: NodeJS.ErrnoException) => settle({ ok: false, error: e.code ?? e.message }));
    socket.bind({ port: ask.fromPort ?? 0, ...(ask.from ? { address: ask.from } : {}) }, () =>
      socket.send("who?", ask.port, ask.host),
    );
  });
