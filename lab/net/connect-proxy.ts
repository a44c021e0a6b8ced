// Runs inside a node namespace: an HTTP CONNECT proxy whose outgoing connections start on the
// node, as kube-apiserver's do on a control-plane node (its egress selector speaks the same
// CONNECT protocol to konnectivity). The lab's API stand-in lives in the host namespace; it
// reaches webhooks through this proxy, so a webhook's ClusterIP is dialled from the node and only
// works when the node's own traffic is balanced (nftlb's intra-connect).
//   node connect-proxy.ts --listen 10.201.7.2 --port 8132    prints {"ready":true} once listening
// A failed upstream connection is answered 502 with the errno in `X-Dial-Error`.
import http from "node:http";
import net from "node:net";
import process from "node:process";
import { parseArgs } from "node:util";

const { values } = parseArgs({ options: { listen: { type: "string" }, port: { type: "string" } } });
const server = http.createServer((_req, res) => res.writeHead(405).end());
server.on("connect", (req: http.IncomingMessage, client: net.Socket, head: Buffer) => {
  const m = /^(\[[^\]]+\]|[^:]+):(\d{1,5})$/.exec(req.url ?? "");
  if (m === null) {
    client.end("HTTP/1.1 400 Bad Request\r\n\r\n");
    return;
  }
  const upstream = net.connect({ host: m[1]!.replace(/^\[|\]$/g, ""), port: Number(m[2]) });
  // kube-apiserver's dial gives up too; a SYN nobody answers must not hold the tunnel for minutes.
  upstream.setTimeout(10_000, () =>
    upstream.destroy(Object.assign(new Error("dial timeout"), { code: "ETIMEDOUT" })),
  );
  upstream.once("connect", () => {
    upstream.setTimeout(0);
    client.write("HTTP/1.1 200 Connection established\r\n\r\n");
    if (head.length > 0) upstream.write(head);
    upstream.pipe(client);
    client.pipe(upstream);
  });
  upstream.on("error", (e: NodeJS.ErrnoException) => {
    if (client.writable && !upstream.readable)
      client.end(`HTTP/1.1 502 Bad Gateway\r\nX-Dial-Error: ${e.code ?? "EIO"}\r\n\r\n`);
    else client.destroy();
  });
  client.on("error", () => upstream.destroy());
  client.on("close", () => upstream.destroy());
});
server.listen(Number(values.port), values.listen, () => console.log(JSON.stringify({ ready: true })));
process.on("SIGTERM", () => process.exit(0));
