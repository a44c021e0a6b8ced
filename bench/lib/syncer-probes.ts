// The bench's view of a running syncer process: a free port, /readyz, /metrics samples, and its
// RSS from /proc.
import { readFileSync } from "node:fs";
import http from "node:http";
import net from "node:net";

export const freePort = () =>
  new Promise<number>((resolve, reject) => {
    const s = net.createServer().listen(0, "127.0.0.1", () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
    s.on("error", reject);
  });

export const readyz = (port: number) =>
  new Promise<boolean>((resolve) => {
    const req = http.get({ host: "127.0.0.1", port, path: "/readyz", timeout: 5_000 }, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.on("error", () => resolve(false));
    req.on("timeout", () => req.destroy());
  });

export /** The syncer's /metrics text ("" when it does not answer). */
const metricsText = (port: number) =>
  new Promise<string>((resolve) => {
    const req = http.get({ host: "127.0.0.1", port, path: "/metrics", timeout: 5_000 }, (res) => {
      let text = "";
      res.on("data", (c: Buffer) => (text += c.toString()));
      res.on("end", () => resolve(text));
    });
    req.on("error", () => resolve(""));
    req.on("timeout", () => req.destroy());
  });

export /** A sample's value (summed over its labels), -1 when absent. */
const sample = (text: string, name: string) => {
  const values = [...text.matchAll(new RegExp(`^${name}(?:\\{[^}]*\\})? ([\\d.e+-]+)$`, "gm"))];
  return values.length === 0 ? -1 : values.reduce((a, m) => a + Number(m[1]), 0);
};

export /** VmRSS and VmHWM (peak RSS) of a process, in MiB. */
function memory(pid: number) {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const kb = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(status)?.[1]) / 1024;
  return { rss: kb("VmRSS"), peak: kb("VmHWM") };
}
