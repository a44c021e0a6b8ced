// What the client puts on the wire, read by a raw socket server: nftlb 1.0.7 matches header names
// case-sensitively, cannot read chunked bodies and serves one request per connection.
import { test } from "node:test";
import assert from "node:assert/strict";
import { answer, startRawServer } from "./raw-server.test-helpers.ts";
import { createNftlbClient } from "./client.ts";
import { redact } from "./transport.ts";
import type { Farm } from "./types.ts";
import { defaultFarm } from "./farm-fixture.test-helpers.ts";

const farm = (backends: number): Farm =>
  defaultFarm(
    "default.web.http",
    [{ name: "default.web.http-v4", family: "ipv4", "ip-addr": "10.96.0.10", ports: "80", protocol: "tcp" }],
    Array.from({ length: backends }, (_, i) => ({
      name: `web-${i}`,
      "ip-addr": `10.244.${Math.floor(i / 250)}.${(i % 250) + 1}`,
      port: "8080",
      state: "up" as const,
    })),
  );

test("POST sends `Key: ` and `Content-Length: ` exactly, no chunking, one connection per request", async () => {
  const server = await startRawServer((req, socket) => {
    if (req.head.startsWith("POST")) socket.end(answer(200, '{"response": "success"}'));
    else socket.end(answer(200, JSON.stringify({ farms: [{ ...farm(1000), name: "default.web.http" }] })));
  });
  try {
    const client = createNftlbClient({ url: server.url, key: "s3cret-key", timeoutMs: 5000 });
    const res = await client.upsertFarms([farm(1000)]);
    assert.equal(res.ok, true, JSON.stringify(res));
    const [post, get] = server.requests;
    assert.ok(post && get);
    const lines = post.head.split("\r\n");
    assert.ok(lines.includes("Key: s3cret-key"), post.head);
    const length = lines.find((l) => l.startsWith("Content-Length: "));
    assert.equal(length, `Content-Length: ${Buffer.byteLength(post.body)}`);
    assert.ok(post.body.length > 60_000, "the 1,000-backend body is far larger than one packet");
    assert.doesNotMatch(post.head, /transfer-encoding/i);
    assert.ok(lines.includes("Connection: close"), "asks for one request per connection");
    assert.ok(get.head.startsWith("GET /farms/default.web.http HTTP/1.1"), get.head);
    assert.ok(get.head.split("\r\n").includes("Key: s3cret-key"));
    // The body is what nftlb parses on the fly: name first, all strings.
    const parsed = JSON.parse(post.body) as { farms: Record<string, unknown>[] };
    const sent = parsed.farms[0]!;
    assert.equal(Object.keys(sent)[0], "name");
    assert.equal((sent.backends as unknown[]).length, 1000);
  } finally {
    await server.close();
  }
});

test("the same client on a second call opens a new connection (nftlb closes after each answer)", async () => {
  const server = await startRawServer((_req, socket) => socket.end(answer(200, '{"farms": []}')));
  try {
    const client = createNftlbClient({ url: server.url, key: "k", timeoutMs: 2000 });
    for (let i = 0; i < 3; i++) assert.equal((await client.listFarms()).ok, true);
    assert.equal(server.requests.length, 3);
  } finally {
    await server.close();
  }
});

test("concurrent calls reach nftlb one at a time", async () => {
  const server = await startRawServer((_req, socket) => {
    setImmediate(() => socket.end(answer(200, '{"farms": []}')));
  });
  try {
    const client = createNftlbClient({ url: server.url, key: "k", timeoutMs: 2000 });
    const all = await Promise.all(Array.from({ length: 8 }, () => client.listFarms()));
    assert.ok(all.every((r) => r.ok));
    assert.equal(server.requests.length, 8);
    assert.equal(server.maxInFlight, 1);
  } finally {
    await server.close();
  }
});

test("redact masks the key as text, regular-expression characters and all", () => {
  const key = ".*+?^${}()|[]\\/-";
  assert.equal(
    redact(`GET /farms key=${key} and again ${key}.`, key),
    "GET /farms key=<key> and again <key>.",
  );
  assert.equal(redact("nothing of it here", key), "nothing of it here");
});
