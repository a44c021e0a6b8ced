// Runs inside a client namespace and opens connections on request, so a test in the host
// namespace can send real traffic from there without starting a process per request. Both the
// lab/net tests and the lab cluster use it; their backends and Pods run backend-server.ts.
// Protocol: one JSON request per stdin line, one JSON answer per stdout line:
//   {"id":1,"proto":"tcp"|"udp","host":"10.204.1.10","port":80,"timeoutMs":1000,
//    "from":"10.202.1.3","fromPort":40001}
//   ("from", "fromPort", optional: the source address — one of the namespace's own — and port;
//   persistence and hash schedulers key on them)
//   {"id":1,"ok":true,"answer":"web-0"} | {"id":1,"ok":false,"error":"ETIMEDOUT",…}
//   (a failed TCP connection also says its source port and when it started and failed, epoch
//   ms: "port":40123,"startedAt":…,"failedAt":… — to find it in a capture of the node)
// An HTTP answer (backend-server.ts's on TCP) gives its body; a bare one (UDP) is kept.
import net from "node:net";
import dgram from "node:dgram";
import readline from "node:readline";
import process from "node:process";

interface Ask {
  id: number;
  proto: "tcp" | "udp";
  host: string;
  port: number;
  timeoutMs: number;
  from?: string;
  fromPort?: number;
}
type Reply =
  | { ok: true; answer: string }
  | { ok: false; error: string; port?: number; startedAt?: number; failedAt?: number };

/** Wall-clock ms with µs, comparable with conntrack's and tcpdump's timestamps. */
const now = () => Math.round((performance.timeOrigin + performance.now()) * 1000) / 1000;

const bodyOf = (text: string) => {
  const i = text.indexOf("\r\n\r\n");
  return (i >= 0 ? text.slice(i + 4) : text).trim();
};

const tcp = (ask: Ask): Promise<Reply> =>
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
    const timer = setTimeout(() => {
      // Which step never finished: the handshake (a SYN or SYN-ACK lost) or the answer.
      const step = socket.connecting ? "no handshake" : data === "" ? "connected, no answer" : "answer cut";
      socket.destroy();
      resolve(failed(`timeout (${step})`));
    }, ask.timeoutMs);
    socket.setEncoding("utf8");
    socket.on("data", (d: string) => (data += d));
    socket.on("error", (e: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      resolve(failed(e.code ?? e.message));
    });
    socket.on("end", () => {
      clearTimeout(timer);
      // A chosen source port must be usable again at once: RST, not TIME_WAIT.
      if (ask.fromPort) socket.resetAndDestroy();
      resolve(data === "" ? failed("empty answer") : { ok: true, answer: bodyOf(data) });
    });
  });

const udp = (ask: Ask): Promise<Reply> =>
  new Promise((resolve) => {
    // A fresh socket per request: a new source port (unless one is chosen), so a new conntrack
    // entry and a new choice.
    const socket = dgram.createSocket(net.isIPv6(ask.host) ? "udp6" : "udp4");
    const timer = setTimeout(() => {
      socket.close();
      resolve({ ok: false, error: "timeout" });
    }, ask.timeoutMs);
    socket.on("message", (msg) => {
      clearTimeout(timer);
      socket.close();
      resolve({ ok: true, answer: msg.toString("utf8").trim() });
    });
    socket.on("error", (e: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      socket.close();
      resolve({ ok: false, error: e.code ?? e.message });
    });
    socket.bind({ port: ask.fromPort ?? 0, ...(ask.from ? { address: ask.from } : {}) }, () =>
      socket.send("who?", ask.port, ask.host),
    );
  });

const lines = readline.createInterface({ input: process.stdin });
lines.on("line", (line) => {
  let ask: Ask;
  try {
    ask = JSON.parse(line) as Ask;
  } catch {
    return; // not a request: the host side only ever writes whole JSON lines
  }
  void (ask.proto === "udp" ? udp(ask) : tcp(ask)).then((reply) => {
    process.stdout.write(`${JSON.stringify({ id: ask.id, ...reply })}\n`);
  });
});
lines.on("close", () => process.exit(0));
console.log(JSON.stringify({ ready: true }));
