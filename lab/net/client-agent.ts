// Runs inside the client namespace and opens connections on request, so a test in the host
// namespace can send real traffic from there without starting a process per request.
// Protocol: one JSON request per stdin line, one JSON answer per stdout line:
//   {"id":1,"proto":"tcp"|"udp","host":"10.204.1.10","port":80,"timeoutMs":1000,"from":"10.202.1.3"}
//   ("from", optional: the source address, one of the namespace's own)
//   {"id":1,"ok":true,"answer":"web-0"} | {"id":1,"ok":false,"error":"ETIMEDOUT"}
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
}
type Reply = { ok: true; answer: string } | { ok: false; error: string };

const tcp = (ask: Ask): Promise<Reply> =>
  new Promise((resolve) => {
    let data = "";
    const socket = net.connect({
      host: ask.host,
      port: ask.port,
      ...(ask.from === undefined ? {} : { localAddress: ask.from }),
    });
    const timer = setTimeout(() => {
      socket.destroy();
      resolve({ ok: false, error: "timeout" });
    }, ask.timeoutMs);
    socket.setEncoding("utf8");
    socket.on("data", (d: string) => (data += d));
    socket.on("error", (e: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      resolve({ ok: false, error: e.code ?? e.message });
    });
    socket.on("end", () => {
      clearTimeout(timer);
      resolve(data === "" ? { ok: false, error: "empty answer" } : { ok: true, answer: data.trim() });
    });
  });

const udp = (ask: Ask): Promise<Reply> =>
  new Promise((resolve) => {
    // A fresh socket per request: a new source port, so a new conntrack entry and a new choice.
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
    const send = () => socket.send("who?", ask.port, ask.host);
    if (ask.from === undefined) send();
    else socket.bind({ address: ask.from }, send);
  });

const lines = readline.createInterface({ input: process.stdin });
lines.on("line", (line) => {
  const ask = JSON.parse(line) as Ask;
  void (ask.proto === "udp" ? udp(ask) : tcp(ask)).then((reply) => {
    process.stdout.write(`${JSON.stringify({ id: ask.id, ...reply })}\n`);
  });
});
lines.on("close", () => process.exit(0));
console.log(JSON.stringify({ ready: true }));
