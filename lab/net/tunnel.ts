// The host side of connect-proxy.ts: opens TCP connections that start in a node namespace.
import http from "node:http";
import type { Socket } from "node:net";
import path from "node:path";
import { spawnInNs, waitForLine, type Running } from "./processes.ts";
import { LAB_DIR, NODE } from "./sys.ts";

export interface NodeDialer {
  /** A TCP connection from the node to host:port; fails with the errno the node saw (ECONNREFUSED…). */
  dial(host: string, port: number): Promise<Socket>;
  stop(): Promise<void>;
}

export const startNodeDialer = async (ns: string, listen: string, port: number): Promise<NodeDialer> => {
  const proxy: Running = spawnInNs(ns, [
    NODE,
    path.join(LAB_DIR, "connect-proxy.ts"),
    "--listen",
    listen,
    "--port",
    String(port),
  ]);
  await waitForLine(proxy, /"ready":true/, 10_000);
  const dial = (host: string, to: number): Promise<Socket> =>
    new Promise((resolve, reject) => {
      const target = `${host.includes(":") ? `[${host}]` : host}:${to}`;
      const req = http.request({ host: listen, port, method: "CONNECT", path: target, agent: false });
      req.once("connect", (res, socket) => {
        if (res.statusCode === 200) return resolve(socket);
        socket.destroy();
        const code = String(res.headers["x-dial-error"] ?? `HTTP ${res.statusCode}`);
        reject(Object.assign(new Error(`dial tcp ${target}: ${code}`), { code }));
      });
      req.once("error", reject);
      req.end();
    });
  return { dial, stop: () => proxy.stop() };
};
