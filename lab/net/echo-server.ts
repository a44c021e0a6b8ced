// A backend that says who it is: every TCP connection gets `<name>\n` and is closed; every UDP
// datagram is answered with `<name>\n`. Runs inside a backend namespace, started by the lab:
//   ip netns exec NS node lab/net/echo-server.ts --name web-0 --port 8080 [--port 9090]
// Prints "ready" on stdout once every socket listens.
import net from "node:net";
import dgram from "node:dgram";
import process from "node:process";
import { parseArgs } from "node:util";

const { values } = parseArgs({
  options: {
    name: { type: "string" },
    port: { type: "string", multiple: true },
    hello: { type: "string" },
    help: { type: "boolean" },
  },
});
if (values.help || !values.name || !values.port) {
  console.log(
    "usage: echo-server.ts --name NAME --port PORT [--port PORT...] [--hello GATEWAY]  (TCP and UDP on each port)",
  );
  process.exit(values.help ? 0 : 2);
}
const name = values.name;
const reply = Buffer.from(`${name}\n`);

const listening: Promise<void>[] = [];
for (const port of values.port.map(Number)) {
  const tcp = net.createServer((socket) => {
    socket.on("error", () => undefined);
    socket.end(reply);
  });
  listening.push(new Promise((resolve) => tcp.listen({ port, host: "::", ipv6Only: false }, resolve)));
  const udp = dgram.createSocket({ type: "udp6", ipv6Only: false });
  udp.on("message", (_msg, rinfo) => udp.send(reply, rinfo.port, rinfo.address));
  listening.push(new Promise((resolve) => udp.bind(port, "::", resolve)));
}
await Promise.all(listening);
if (values.hello) {
  // One datagram to the discard port of the gateway: the node learns our MAC from the ARP exchange.
  const hello = dgram.createSocket("udp4");
  await new Promise<void>((resolve) => hello.send("hello", 9, values.hello, () => resolve()));
  hello.close();
}
console.log("ready");
process.on("SIGTERM", () => process.exit(0));
