// An answer given before the body has all arrived (413 for a body over the size limit or over the
// JSON value count, 415, 404) must reach a client still sending, over real sockets: the webhook
// reads and discards a bounded rest of the body before it lets the connection go, so the client
// is never reset (EPIPE/ECONNRESET) before it has parsed the answer. Past that bound it cuts the
// connection rather than read for ever.
import { after, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { connect as tlsConnect } from "node:tls";
import { tmpdir } from "node:os";
import { randomBytes } from "node:crypto";
import { gzipSync } from "node:zlib";
import { join } from "node:path";
import { createLogger } from "../runtime/index.ts";
import { startWebhook } from "../webhook/server.ts";
import { admissionReview, request as admission, service } from "../webhook/review-fixtures.test-helpers.ts";
import { makeCa } from "./webhook-pki.ts";
import { SecretVolume } from "./webhook-tls.ts";
import { until } from "./until.ts";

const root = mkdtempSync(join(tmpdir(), `webhook-early-${process.pid}-`));
after(() => rmSync(root, { recursive: true, force: true }));
const ca = makeCa();
const leaf = ca.sign("early");
const volume = new SecretVolume(join(root, "tls"));
volume.write({ "tls.crt": leaf.cert, "tls.key": leaf.key });

const webhook = await startWebhook({
  tlsCert: volume.certFile,
  tlsKey: volume.keyFile,
  port: 0,
  probePort: 0,
  host: "127.0.0.1",
  log: createLogger({ name: "webhook", level: "error" }),
  drainTimeoutMs: 1000,
});
after(() => webhook.close());

/** A raw TLS connection that records what comes back, errors, and how much was written when the server ended it. */
async function open() {
  const socket = tlsConnect({ host: "127.0.0.1", port: webhook.port, ca: ca.cert });
  const seen = { text: "", errors: [] as string[], closed: false, written: 0, endedAt: -1 };
  socket.on("data", (c: Buffer) => (seen.text += c.toString()));
  socket.on("error", (err: NodeJS.ErrnoException) => seen.errors.push(err.code ?? err.message));
  socket.on("end", () => (seen.endedAt = seen.written));
  socket.on("close", () => (seen.closed = true));
  await new Promise((r) => socket.once("secureConnect", r));
  const write = (data: Buffer | string) =>
    new Promise<void>((resolve) =>
      socket.write(data, (err) => {
        if (err) seen.errors.push((err as NodeJS.ErrnoException).code ?? err.message);
        else seen.written += Buffer.byteLength(data);
        resolve();
      }),
    );
  return { socket, seen, write };
}

/** `type` may name an encoding after a space: "application/json gzip". */
const head = (length: number, path: string, type: string, close: boolean) => {
  const [media, encoding] = type.split(" ");
  return (
    `POST ${path} HTTP/1.1\r\nHost: webhook\r\nContent-Type: ${media}\r\nContent-Length: ${length}\r\n` +
    (encoding ? `Content-Encoding: ${encoding}\r\n` : "") +
    (close ? "Connection: close\r\n" : "") +
    "\r\n"
  );
};

const MiB = 2 ** 20;
// Well past the 100,000 JSON values (each `{},` is two) within the first 300 KB of 6 MiB.
const overCounted = JSON.stringify(
  admissionReview(
    admission(
      service({ metadataExtra: { managedFields: Array.from({ length: (6 * MiB) / 3 }, () => ({})) } }),
      { uid: "counted" },
    ),
  ),
);
const overLong = Buffer.alloc(7 * MiB + 4096, " ");
// Past 7 MiB once decoded within its first few KiB, then 4 MiB more that the decoder never sees.
const bomb = Buffer.concat([gzipSync(Buffer.alloc(8 * MiB, " ")), randomBytes(4 * MiB)]);
const small = JSON.stringify(admissionReview(admission(service(), { uid: "small" })));

// [what, body, path, content type, bytes sent before waiting for the answer, the answer]
const cases: [string, Buffer, string, string, number, RegExp][] = [
  [
    "a body over the JSON value count",
    Buffer.from(overCounted),
    "/validate",
    "application/json",
    MiB,
    /"code":413,.*"message":"request body holds more than/,
  ],
  [
    "a body over 7 MiB",
    overLong,
    "/validate",
    "application/json",
    0,
    /"code":413,.*"message":"request body exceeds/,
  ],
  [
    "a gzip body over 7 MiB once decoded",
    bomb,
    "/validate",
    "application/json gzip",
    64 * 1024,
    /"code":413,.*"message":"request body exceeds/,
  ],
  ["a wrong content type", overLong.subarray(0, 4 * MiB), "/validate", "text/plain", 0, /"code":415/],
  ["an unknown path", overLong.subarray(0, 4 * MiB), "/nowhere", "application/json", 0, /"code":404/],
];

for (const [what, body, path, type, first, answer] of cases) {
  for (const close of [true, false]) {
    test(`${what} (${close ? "Connection: close" : "keep-alive"}): answered early, the rest of the body still read, no reset`, async () => {
      const c = await open();
      try {
        await c.write(
          Buffer.concat([Buffer.from(head(body.length, path, type, close)), body.subarray(0, first)]),
        );
        await until("the early answer", () => answer.test(c.seen.text));
        // Only now the rest: a server that stopped reading once it had answered resets the
        // connection under these bytes (or has already ended it), and a client still writing
        // then loses the answer it has not yet read.
        await c.write(body.subarray(first));
        const keptAlive = !close && !/connection: close/i.test(c.seen.text);
        if (keptAlive) {
          await c.write(head(Buffer.byteLength(small), "/validate", "application/json", true) + small);
          await until("the next request on the same connection answered", () =>
            c.seen.text.includes('"uid":"small","allowed":true'),
          );
        }
        await until("the server ends the connection", () => c.seen.closed);
        assert.deepEqual(c.seen.errors, [], "the connection was reset");
        assert.equal(
          c.seen.endedAt,
          c.seen.written,
          "the server ended the connection before the body was sent",
        );
      } finally {
        c.socket.destroy();
      }
    });
  }
}

test("a body far past the drain bound: answered, then the connection is cut, not read for ever", async () => {
  const socket = tlsConnect({ host: "127.0.0.1", port: webhook.port, ca: ca.cert });
  let text = "";
  let closed = false;
  let written = 0;
  socket.on("data", (c: Buffer) => (text += c.toString()));
  socket.on("error", () => {}); // being cut is the point
  socket.on("close", () => (closed = true));
  await new Promise((r) => socket.once("secureConnect", r));
  const declared = 1024 * MiB;
  socket.write(
    `POST /validate HTTP/1.1\r\nHost: webhook\r\nContent-Type: application/json\r\nContent-Length: ${declared}\r\n\r\n`,
  );
  const chunk = Buffer.alloc(256 * 1024, " ");
  // Keep sending as fast as the server reads, until it lets go.
  const pump = () => {
    while (!closed && written < declared && socket.write(chunk)) written += chunk.length;
    if (!closed) written += chunk.length;
  };
  socket.on("drain", pump);
  pump();
  try {
    await until("the server cuts the connection", () => closed);
    assert.match(text, /^HTTP\/1\.1 200/);
    assert.match(text, /"code":413/);
    // What the server read is at most what was written; it let go long before the body's end.
    assert.ok(written < declared / 4, `${written} bytes written before the cut`);
  } finally {
    socket.destroy();
  }
});
