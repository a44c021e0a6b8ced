// The lab's controllers write through the API stand-in's real HTTPS API (so resourceVersions,
// generateName, finalizers and watches behave as for any client); this is their small client:
// bearer token, the lab CA verified, JSON in and out, errors as values.
import https from "node:https";

export type ApiResult =
  { ok: true; status: number; body: unknown } | { ok: false; status: number; error: string };

export interface ApiClient {
  request(method: string, path: string, body?: unknown, contentType?: string): Promise<ApiResult>;
}

export const MERGE_PATCH = "application/merge-patch+json";

export function apiClient(opts: { url: string; token: string; ca: string; timeoutMs?: number }): ApiClient {
  const base = new URL(opts.url);
  const agent = new https.Agent({ keepAlive: true, ca: opts.ca, maxSockets: 8 });
  return {
    request: (method, path, body, contentType = "application/json") =>
      new Promise((resolve) => {
        const data = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
        const req = https.request(
          {
            agent,
            hostname: base.hostname,
            port: base.port,
            method,
            path,
            timeout: opts.timeoutMs ?? 10_000,
            headers: {
              authorization: `Bearer ${opts.token}`,
              accept: "application/json",
              "user-agent": "kube-nftlb-lab-controllers",
              ...(data ? { "content-type": contentType, "content-length": data.length } : {}),
            },
          },
          (res) => {
            const chunks: Buffer[] = [];
            res.on("data", (c: Buffer) => chunks.push(c));
            res.on("end", () => {
              const text = Buffer.concat(chunks).toString("utf8");
              const status = res.statusCode ?? 0;
              let parsed: unknown = text;
              try {
                parsed = JSON.parse(text) as unknown;
              } catch {
                // not JSON: keep the text
              }
              if (status >= 200 && status < 300) resolve({ ok: true, status, body: parsed });
              else {
                const message = (parsed as { message?: unknown } | null)?.message;
                resolve({
                  ok: false,
                  status,
                  error: `${method} ${path}: ${status} ${typeof message === "string" ? message : text.slice(0, 200)}`,
                });
              }
            });
          },
        );
        req.on("timeout", () => req.destroy(new Error("timeout")));
        req.on("error", (e) => resolve({ ok: false, status: 0, error: `${method} ${path}: ${e.message}` }));
        req.end(data);
      }),
  };
}
