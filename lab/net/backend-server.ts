// A backend that says who it is, for lab/net's backends and the lab's Pods: on every TCP port an
// HTTP response naming it (sent at once, so raw-socket probes need not speak HTTP, and curl
// still reads a valid answer), on every UDP port a datagram naming it for each one received.
// Runs inside the backend's or Pod's network namespace:
//   ip netns exec NS node lab/net/backend-server.ts --name web-0 --tcp 8080 --udp 5353 [--hello GW]
// Prints "ready" once every socket listens. Later, a line "tcp PORT" or "udp PORT" on stdin opens
// one more socket (the pod controller's way to answer on a port a Service targets but no container
// declares, as a real server listening there would) and prints "listening tcp PORT" once it does,
// or "failed tcp PORT: why".
import net from "node:net";
import dgram from "node:dgram";
import process from "node:process";
import readline from "node:readline";
import { parseArgs } from "node:util";

const { values } = parseArgs({
  options: {
    name: { type: "string" },
    tcp: { type: "string", multiple: true, default: [] },
    udp: { type: "string", multiple: true, default: [] },
    hello: { type: "string" },
    help: { type: "boolean" },
  },
});
if (values.help || !values.name) {
  console.log("usage: backend-server.ts --name NAME [--tcp PORT...] [--udp PORT...] [--hello GATEWAY]");
  process.exit(values.help ? 0 : 2);
}
const body = `${values.name}\n`;
const http = Buffer.from(
  `HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
);
const datagram = Buffer.from(body);

const listenTcp = (port: number): Promise<void> =>
  new Promise((resolve, reject) => {
    const server = net.createServer((socket) => {
      socket.on("error", () => undefined);
      // Read and drop whatever the client sends: unread bytes at close would turn FIN into RST.
      socket.resume();
      socket.end(http);
    });
    server.once("error", reject);
    server.listen({ port, host: "0.0.0.0" }, resolve);
  });
const listenUdp = (port: number): Promise<void> =>
  new Promise((resolve, reject) => {
    const socket = dgram.createSocket("udp4");
    socket.on("message", (_msg, rinfo) => socket.send(datagram, rinfo.port, rinfo.address));
    socket.once("error", reject);
    socket.bind(port, "0.0.0.0", resolve);
  });
const open = { tcp: new Set<number>(), udp: new Set<number>() };
const listen = async (protocol: "tcp" | "udp", port: number) => {
  if (open[protocol].has(port)) return;
  await (protocol === "tcp" ? listenTcp(port) : listenUdp(port));
  open[protocol].add(port);
};

await Promise.all([
  ...values.tcp.map((p) => listen("tcp", Number(p))),
  ...values.udp.map((p) => listen("udp", Number(p))),
]);
if (values.hello) {
  // One datagram to the gateway's discard port: the node learns our MAC, as from a backend's own traffic.
  const hello = dgram.createSocket("udp4");
  await new Promise<void>((resolve) => hello.send("hello", 9, values.hello, () => resolve()));
  hello.close();
}
console.log("ready");
process.on("SIGTERM", () => process.exit(0));
for await (const line of readline.createInterface({ input: process.stdin })) {
  const m = /^(tcp|udp) (\d{1,5})$/.exec(line.trim());
  if (m === null) continue;
  const [, protocol = "tcp", port = ""] = m;
  await listen(protocol as "tcp" | "udp", Number(port)).then(
    () => console.log(`listening ${protocol} ${port}`),
    (err: unknown) => console.log(`failed ${protocol} ${port}: ${(err as Error).message}`),
  );
}
