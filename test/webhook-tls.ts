// Helpers for the HTTPS tests: a directory updated the way kubelet updates a mounted Secret, and
// a small keep-alive client.
import { mkdirSync, readlinkSync, renameSync, rmSync, symlinkSync, writeFileSync, existsSync } from "node:fs";
import { Agent, request } from "node:https";
import { join } from "node:path";
import type { TLSSocket } from "node:tls";

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
