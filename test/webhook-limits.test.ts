// The webhook's bounds over real sockets: what one unauthenticated client can make it hold.
// Memory of a real webhook process under four concurrent 7 MiB bodies; a slow body, dribbled
// headers and an idle connection each closed by the server at their timeout; the connection cap;
// large bodies taking turns, the one too many answered 429.
import { after, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createServer } from "node:http";
import { connect as netConnect, type AddressInfo, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { connect as tlsConnect } from "node:tls";
import { createLogger, createRegistry } from "../runtime/index.ts";
import { createApp } from "../webhook/app.ts";
import { webhookMetrics } from "../webhook/metrics.ts";
import { startWebhook, type WebhookOptions } from "../webhook/server.ts";
import {
  admissionReview,
  key,
  request as admission,
  service,
} from "../webhook/review-fixtures.test-helpers.ts";
import { makeCa } from "./webhook-pki.ts";
import { post, SecretVolume, webhookProcess } from "./webhook-tls.ts";
import { until } from "./until.ts";

const root = mkdtempSync(join(tmpdir(), `webhook-limits-${process.pid}-`));
after(() => rmSync(root, { recursive: true, force: true }));
const ca = makeCa();
const leaf = ca.sign("limits");
const volume = new SecretVolume(join(root, "tls"));
volume.write({ "tls.crt": leaf.cert, "tls.key": leaf.key });
const quiet = createLogger({ name: "webhook", level: "error" });

async function start(opts: Partial<WebhookOptions>) {
  return startWebhook({
    tlsCert: volume.certFile,
    tlsKey: volume.keyFile,
    port: 0,
    probePort: 0,
    host: "127.0.0.1",
    log: quiet,
    drainTimeoutMs: 1000,
    ...opts,
  });
}

/** A raw connection that records what comes back and whether the server closed it. */
interface Watched {
  socket: Socket;
  text: () => string;
  closed: () => boolean;
}

function watch(socket: Socket): Watched {
  let text = "";
  let closed = false;
  socket.on("data", (c: Buffer) => (text += c.toString()));
  socket.on("close", () => (closed = true));
  socket.on("error", () => {}); // a reset is one way of being closed
  return { socket, text: () => text, closed: () => closed };
}

function tls(port: number): Promise<Watched> {
  return new Promise((resolve, reject) => {
    const s = tlsConnect({ host: "127.0.0.1", port, ca: ca.cert }, () => resolve(w));
    const w = watch(s);
    s.once("error", (err: Error) => reject(err));
    s.once("close", () => reject(new Error("closed before the handshake")));
  });
}

const headers = (length: number, path = "/validate") =>
  `POST ${path} HTTP/1.1\r\nHost: webhook\r\nContent-Type: application/json\r\nContent-Length: ${length}\r\n\r\n`;

test("a slow body is answered 408 and its connection closed by the server at the request timeout", async () => {
  const webhook = await start({ requestTimeoutMs: 500 });
  const c = await tls(webhook.port);
  // One byte every 50 ms: never idle, never done.
  c.socket.write(headers(100_000));
  const drip = setInterval(() => c.socket.write(" "), 50);
  try {
    await until("the server closes the slow request's connection", c.closed);
    assert.match(c.text(), /^HTTP\/1\.1 408/);
    assert.match(c.text(), /"code":408/);
  } finally {
    clearInterval(drip);
    c.socket.destroy();
    await webhook.close();
  }
});

test("headers dribbled past the header timeout: the server closes the connection", async () => {
  const webhook = await start({ headersTimeoutMs: 500 });
  const c = await tls(webhook.port);
  c.socket.write("POST /validate HTTP/1.1\r\nHost: webhook\r\n");
  const drip = setInterval(() => c.socket.write("X-Slow: 1\r\n"), 50);
  try {
    await until("the server closes the dribbling connection", c.closed);
  } finally {
    clearInterval(drip);
    c.socket.destroy();
    await webhook.close();
  }
});

test("an idle keep-alive connection is closed by the server after the idle timeout", async () => {
  const webhook = await start({ idleTimeoutMs: 500 });
  const c = await tls(webhook.port);
  const body = JSON.stringify(admissionReview(admission(service(), { uid: "idle" })));
  c.socket.write(headers(Buffer.byteLength(body)) + body);
  try {
    await until("the answer", () => c.text().includes('"uid":"idle"'));
    await until("the server closes the idle connection", c.closed);
  } finally {
    c.socket.destroy();
    await webhook.close();
  }
});

test("connections past the cap are closed at once; a freed slot is usable again", async () => {
  const webhook = await start({ maxConnections: 3 });
  const open = [await tls(webhook.port), await tls(webhook.port), await tls(webhook.port)];
  try {
    await assert.rejects(tls(webhook.port), /before (the handshake|secure TLS connection)/);
    open.shift()!.socket.destroy();
    let again: Watched | undefined;
    await until("a connection accepted once one closed", async () => {
      again = await tls(webhook.port).catch(() => undefined);
      return again !== undefined;
    });
    open.push(again!);
    const metrics = await (await fetch(`http://127.0.0.1:${webhook.probePort}/metrics`)).text();
    assert.match(metrics, /kube_nftlb_webhook_overload_total\{reason="connections"\} [1-9]/);
  } finally {
    for (const c of open) c.socket.destroy();
    await webhook.close();
  }
});

test("large bodies take turns: the one past the waiting room is answered 429 at once, the others in order", async () => {
  const registry = createRegistry({ defaultMetrics: false });
  const app = createApp({
    log: quiet,
    metrics: webhookMetrics(registry),
    options: () => ({}),
    largeBodies: 1,
    maxWaiting: 1,
  });
  const server = createServer(app).listen(0, "127.0.0.1");
  await new Promise((r) => server.once("listening", r));
  const port = (server.address() as AddressInfo).port;
  const raw = () =>
    new Promise<Watched>((resolve) => {
      const s = netConnect(port, "127.0.0.1", () => resolve(w));
      const w = watch(s);
    });
  const large = (uid: string) =>
    JSON.stringify(
      admissionReview(
        admission(service({ metadataExtra: { managedFields: [{ pad: "x".repeat(200_000) }] } }), { uid }),
      ),
    );
  const [a, b, c] = [large("first"), large("second"), large("third")];
  const first = await raw();
  const second = await raw();
  const third = await raw();
  try {
    const gauge = async (state: string) =>
      Number(
        new RegExp(`kube_nftlb_webhook_large_bodies\\{state="${state}"\\} (\\d+)`).exec(
          await registry.metrics(),
        )?.[1] ?? NaN,
      );
    first.socket.write(headers(Buffer.byteLength(a)) + a.slice(0, 1000)); // holds the turn
    await until("the first body being read", async () => (await gauge("reading")) === 1);
    second.socket.write(headers(Buffer.byteLength(b)) + b); // waits, whole
    await until("the second waiting", async () => (await gauge("waiting")) === 1);
    third.socket.write(headers(Buffer.byteLength(c)) + c);
    await until("the third answered 429", () => /^HTTP\/1\.1 429/.test(third.text()));
    assert.match(third.text(), /retry-after: 1/i);
    assert.match(third.text(), /"code":429/);
    await until("the third's connection closed", third.closed);
    assert.equal(second.text(), "", "the second was answered before the first let go");
    first.socket.write(a.slice(1000));
    await until("the first answered", () => first.text().includes('"uid":"first","allowed":true'));
    await until("the second answered", () => second.text().includes('"uid":"second","allowed":true'));
    assert.match(await registry.metrics(), /kube_nftlb_webhook_overload_total\{reason="busy"\} 1/);
  } finally {
    for (const s of [first, second, third]) s.socket.destroy();
    server.close();
  }
});

/** 7 MiB-class bodies that cost far more than their size once parsed. */
function heavyBodies(): Record<string, string> {
  const manyKeys: Record<string, string> = {};
  for (let i = 0; i < 100_000; i++) manyKeys[key(`unknown-${i}`)] = "x";
  const tiny = Array.from({ length: Math.floor((6.8 * 2 ** 20) / 3) }, () => ({}));
  return {
    "100,000 unknown keys": JSON.stringify(admissionReview(admission(service({ annotations: manyKeys })))),
    "2.4 million empty objects": JSON.stringify(
      admissionReview(admission(service({ metadataExtra: { managedFields: tiny } }))),
    ),
  };
}

const rss = (pid: number): { rss: number; peak: number } => {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const kib = (field: string) => Number(new RegExp(`${field}:\\s+(\\d+)`).exec(status)?.[1] ?? NaN);
  return { rss: kib("VmRSS") * 1024, peak: kib("VmHWM") * 1024 };
};

test("a real webhook process stays within 64 MiB of growth under four concurrent 7 MiB bodies, and answers each in a few KiB", async () => {
  const { child, port } = await webhookProcess(volume);
  try {
    const warm = JSON.stringify(admissionReview(admission(service(), { uid: "warm" })));
    await post(port, ca.cert, "/validate", warm, false);
    for (const [what, body] of Object.entries(heavyBodies())) {
      const before = rss(child.pid!).rss;
      // Each is refused before it has all arrived; the rest is still read, so no client is reset
      // before it has the answer (test/webhook-early-answer.test.ts).
      const answers = await Promise.all(
        [1, 2, 3, 4].map(() => post(port, ca.cert, "/validate", body, false)),
      );
      const growth = rss(child.pid!).peak - before;
      for (const a of answers) {
        assert.equal(a.status, 200, what);
        assert.ok(a.body.length < 4096, `${what}: an answer of ${a.body.length} bytes`);
        assert.match(a.body, /"allowed":false/, what);
      }
      assert.ok(growth < 64 * 2 ** 20, `${what}: RSS grew ${Math.round(growth / 2 ** 20)} MiB`);
    }
  } finally {
    child.kill("SIGKILL");
  }
});
