// The two servers bench/webhook.ts measures, each run in a process of its own (`--serve NAME`):
// the webhook as deployed (the production logger at info, here to /dev/null) and the
// floor, express over HTTPS reading the body without parsing it and sending one constant answer.
// Prints `{"port":N}` once listening; SIGTERM closes it and exits (so --cpu-prof is written).
import { once } from "node:events";
import { readFileSync } from "node:fs";
import { createServer } from "node:https";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import express from "express";
import { pino } from "pino";
import { createLogger } from "../../runtime/index.ts";
import { startWebhook } from "../../webhook/server.ts";

const CONSTANT = JSON.stringify({
  apiVersion: "admission.k8s.io/v1",
  kind: "AdmissionReview",
  response: { uid: "constant", allowed: true },
});

export async function serve(which: string, dir: string): Promise<void> {
  const tlsCert = join(dir, "tls.crt");
  const tlsKey = join(dir, "tls.key");
  let close: () => Promise<void>;
  let port: number;
  if (which === "webhook") {
    // The production logger (redaction included), writing synchronously as pino does to stdout.
    const log = createLogger({
      name: "webhook",
      level: "info",
      destination: pino.destination({ dest: "/dev/null", sync: true }),
    });
    const webhook = await startWebhook({ tlsCert, tlsKey, port: 0, probePort: 0, host: "127.0.0.1", log });
    port = webhook.port;
    close = () => webhook.close();
  } else if (which === "floor") {
    const app = express();
    app.post("/{*path}", (req, res) => {
      req.resume();
      req.on("end", () => res.type("application/json").send(CONSTANT));
    });
    const server = createServer(
      { cert: readFileSync(tlsCert), key: readFileSync(tlsKey), minVersion: "TLSv1.2" },
      app,
    );
    server.keepAliveTimeout = 120_000;
    server.listen(0, "127.0.0.1");
    await once(server, "listening");
    port = (server.address() as AddressInfo).port;
    close = async () => {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    };
  } else {
    throw new Error(`--serve floor|webhook, not ${JSON.stringify(which)}`);
  }
  console.log(JSON.stringify({ port }));
  process.once("SIGTERM", () => void close().then(() => process.exit(0)));
}
