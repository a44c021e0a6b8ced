// A tiny admission webhook server for tests of the stand-in's admission (not the product's
// webhook): HTTPS with a certificate for <name>.<namespace>.svc from a given CA, answering every
// AdmissionReview with what `decide` returns, and remembering the reviews it received.
import https from "node:https";
import type { AddressInfo } from "node:net";
import type { LabCa } from "../pki/ca.ts";
import { startApiServer, type ApiServer } from "./index.ts";

type Any = Record<string, unknown>;
export interface Decision {
  allowed: boolean;
  status?: { code?: number; reason?: string; message?: string };
  /** JSON Patch operations; sent base64-encoded with patchType JSONPatch */
  patch?: unknown[];
  warnings?: string[];
}

export interface TestWebhook {
  url: string;
  port: number;
  /** requests received, newest last */
  reviews: { path: string; review: Any }[];
  /** TLS connections accepted so far */
  connections(): number;
  close(): Promise<void>;
}

export async function startTestWebhook(opts: {
  ca: LabCa;
  /** the certificate's DNS name, e.g. "deny.webhooks.svc" */
  dnsName: string;
  decide: (request: Any, path: string) => Decision | Promise<Decision>;
}): Promise<TestWebhook> {
  const { cert, key } = opts.ca.issue({
    commonName: opts.dnsName,
    dnsNames: [opts.dnsName],
    ips: ["127.0.0.1"],
  });
  const reviews: TestWebhook["reviews"] = [];
  const server = https.createServer({ cert, key }, (req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      void (async () => {
        const review = JSON.parse(Buffer.concat(chunks).toString("utf8")) as Any;
        reviews.push({ path: req.url ?? "", review });
        const request = review.request as Any;
        const d = await opts.decide(request, req.url ?? "");
        const response: Any = { uid: request.uid, allowed: d.allowed };
        if (d.status !== undefined) response.status = d.status;
        if (d.warnings !== undefined) response.warnings = d.warnings;
        if (d.patch !== undefined) {
          response.patchType = "JSONPatch";
          response.patch = Buffer.from(JSON.stringify(d.patch)).toString("base64");
        }
        res.writeHead(200, { "content-type": "application/json" });
        res.end(JSON.stringify({ apiVersion: review.apiVersion, kind: "AdmissionReview", response }));
      })().catch(() => {
        res.writeHead(500);
        res.end();
      });
    });
  });
  let connections = 0;
  server.on("secureConnection", () => connections++);
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `https://127.0.0.1:${port}`,
    port,
    reviews,
    connections: () => connections,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

/**
 * A stand-in whose Service `<name>.webhooks` (the one a webhook configuration's clientConfig
 * names) is a test webhook answering with `decide`: the two started together, as the kubectl
 * tests want them.
 */
export async function startApiWithWebhook(
  name: string,
  decide: (request: Any, path: string) => Decision | Promise<Decision>,
): Promise<{ api: ApiServer; hook: TestWebhook; stop: () => Promise<void> }> {
  let port = 0;
  const api = await startApiServer({
    resolveService: (s) => (s.name === name ? `https://127.0.0.1:${port}` : undefined),
  });
  const hook = await startTestWebhook({ ca: api.ca, dnsName: `${name}.webhooks.svc`, decide });
  port = hook.port;
  const stop = async () => {
    await hook.close();
    await api.stop();
  };
  return { api, hook, stop };
}
