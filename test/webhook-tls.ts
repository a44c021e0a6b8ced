// Helpers for the HTTPS tests: a directory updated the way kubelet updates a mounted Secret, and
// a small keep-alive client.
import { mkdirSync, readlinkSync, renameSync, rmSync, symlinkSync, writeFileSync, existsSync } from "node:fs";
import { spawn, type ChildProcess } from "node:child_process";
import { Agent, request } from "node:https";
import { join } from "node:path";
import type { TLSSocket } from "node:tls";
import { until } from "./until.ts";

/** kubelet's AtomicWriter: files in `..<timestamp>/`, `..data` → it (atomic rename), `tls.crt` → `..data/tls.crt`. */
export class SecretVolume {
  readonly dir: string;
  #n = 0;
  constructor(dir: string) {
    this.dir = dir;
    mkdirSync(dir, { recursive: true });
  }
  get certFile(): string {
    return join(this.dir, "tls.crt");
  }
  get keyFile(): string {
    return join(this.dir, "tls.key");
  }
  write(files: Record<string, string>): void {
    const stamp = `..2026_01_01_00_00_00.${process.pid}_${++this.#n}`;
    mkdirSync(join(this.dir, stamp));
    for (const [name, content] of Object.entries(files)) writeFileSync(join(this.dir, stamp, name), content);
    const data = join(this.dir, "..data");
    const old = existsSync(data) ? readlinkSync(data) : undefined;
    symlinkSync(stamp, join(this.dir, "..data_tmp"));
    renameSync(join(this.dir, "..data_tmp"), data);
    for (const name of Object.keys(files)) {
      if (!existsSync(join(this.dir, name))) symlinkSync(join("..data", name), join(this.dir, name));
    }
    if (old) rmSync(join(this.dir, old), { recursive: true, force: true });
  }
  /** The file behind the current `..data`, for writing into it non-atomically (a half-written file). */
  current(name: string): string {
    return join(this.dir, readlinkSync(join(this.dir, "..data")), name);
  }
}

export interface Reply {
  status: number;
  body: string;
  fingerprint: string;
  protocol: string | null;
}

export function post(
  port: number,
  ca: string,
  path: string,
  body: string,
  agent: Agent | false,
): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: "127.0.0.1",
        port,
        path,
        method: "POST",
        ca,
        agent,
        headers: { "content-type": "application/json", "content-length": Buffer.byteLength(body) },
      },
      (res) => {
        const socket = res.socket as TLSSocket;
        const fingerprint = socket.getPeerCertificate().fingerprint256;
        const protocol = socket.getProtocol();
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () =>
          resolve({
            status: res.statusCode ?? 0,
            body: Buffer.concat(chunks).toString(),
            fingerprint,
            protocol,
          }),
        );
        res.on("error", reject);
      },
    );
    req.on("error", reject);
    req.end(body);
  });
}

export async function probe(port: number, path: string): Promise<number> {
  try {
    return (await fetch(`http://127.0.0.1:${port}${path}`)).status;
  } catch {
    return 0;
  }
}

export interface WebhookProcess {
  child: ChildProcess;
  port: number;
  probePort: number;
  /** Its stdout so far (JSON log lines). */
  output: () => string;
  exited: Promise<number | null>;
}

/** `kube-nftlb webhook` as its own process on 127.0.0.1, free ports, serving `volume`'s pair; resolves once ready. */
export async function webhookProcess(volume: SecretVolume, args: string[] = []): Promise<WebhookProcess> {
  const bin = join(import.meta.dirname, "..", "bin", "kube-nftlb.js");
  const tls = ["--tls-cert", volume.certFile, "--tls-key", volume.keyFile];
  const ports = ["--port", "0", "--probe-port", "0", "--bind-address", "127.0.0.1"];
  const child = spawn(process.execPath, [bin, "webhook", ...tls, ...ports, ...args], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  let out = "";
  child.stdout.on("data", (c: Buffer) => (out += c.toString()));
  const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
  try {
    await until("the listening line", () => out.includes('"msg":"webhook listening"'));
    const line = out.split("\n").find((l) => l.includes('"msg":"webhook listening"'))!;
    const { port, probePort } = JSON.parse(line) as { port: number; probePort: number };
    await until("readyz", async () => (await probe(probePort, "/readyz")) === 200);
    return { child, port, probePort, output: () => out, exited };
  } catch (err) {
    child.kill("SIGKILL");
    throw err;
  }
}
