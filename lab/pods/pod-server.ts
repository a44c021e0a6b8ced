// What runs in a lab Pod: on every declared container port, TCP gets an HTTP response naming the
// Pod (sent at once, so raw-socket probes need not speak HTTP, and curl still reads a valid
// answer) and every UDP datagram gets a datagram naming it. Started by the pod controller:
//   ip netns exec NS node lab/pods/pod-server.ts --name web-0 --tcp 8080 --udp 5353 [--hello GW]
// Prints "ready" once every socket listens.
import net from "node:net";
import dgram from "node:dgram";
import process from "node:process";
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
  console.log("usage: pod-server.ts --name POD [--tcp PORT...] [--udp PORT...] [--hello GATEWAY]");
  process.exit(values.help ? 0 : 2);
}
const body = `${values.name}\n`;
const http = Buffer.from(
  `HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
);
const datagram = Buffer.from(body);

const listening: Promise<void>[] = [];
for (const port of values.tcp.map(Number)) {
  const server = net.createServer((socket) => {
    socket.on("error", () => undefined);
    // Read and drop whatever the client sends: unread bytes at close would turn FIN into RST.
    socket.resume();
    socket.end(http);
  });
  listening.push(new Promise((resolve) => server.listen({ port, host: "0.0.0.0" }, resolve)));
}
for (const port of values.udp.map(Number)) {
  const socket = dgram.createSocket("udp4");
  socket.on("message", (_msg, rinfo) => socket.send(datagram, rinfo.port, rinfo.address));
  listening.push(new Promise((resolve) => socket.bind(port, "0.0.0.0", resolve)));
}
await Promise.all(listening);
if (values.hello) {
  // One datagram to the gateway's discard port: the node learns our MAC, as from a pod's own traffic.
  const hello = dgram.createSocket("udp4");
  await new Promise<void>((resolve) => hello.send("hello", 9, values.hello, () => resolve()));
  hello.close();
}
console.log("ready");
process.on("SIGTERM", () => process.exit(0));
