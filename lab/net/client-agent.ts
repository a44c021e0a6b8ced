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
import readline from "node:readline";
import process from "node:process";
import { tcp, udp, type Ask } from "./agent-probes.ts";

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
