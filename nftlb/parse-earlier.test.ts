// A farm read again takes what did not change from the copy read before (parse.ts's Earlier):
// the client keeps nftlb's farms for as long as nftlb holds them, so a re-read must not add a
// copy of every backend. What changed is read as nftlb says it, never taken from the old copy.
import { test } from "node:test";
import assert from "node:assert/strict";
import { parseFarms } from "./parse.ts";
import type { Backend, Farm } from "./types.ts";
import { answer as http, startRawServer, type Responder } from "./raw-server.test-helpers.ts";
import { createNftlbClient } from "./client.ts";
import { defaultFarm } from "./farm-fixture.test-helpers.ts";

const backend = (name: string, ip: string, extra: Record<string, string> = {}) => ({
  name,
  "ip-addr": ip,
  port: "8080",
  weight: "1",
  priority: "1",
  mark: "0x002",
  state: "up",
  ...extra,
});
const answer = (backends: Record<string, string>[]) =>
  JSON.stringify({
    farms: [
      {
        name: "shop.web.http",
        family: "ipv4",
        addresses: [{ name: "shop.web.http-v4", "ip-addr": "10.96.0.10", ports: "80", protocol: "tcp" }],
        backends,
      },
    ],
  });
const parsed = (body: string, earlier?: Parameters<typeof parseFarms>[1]): Farm => {
  const r = parseFarms(body, earlier);
  assert.ok(r.ok, JSON.stringify(r));
  return r.value[0]!;
};

test("a backend unchanged since the last read is the object read then; a changed one is read anew", () => {
  const first = parsed(
    answer([backend("web-0", "10.244.0.5"), backend("web-1", "10.244.0.6", { mark: "0x003" })]),
  );
  const again = parsed(
    answer([
      backend("web-0", "10.244.0.5"),
      // Every field that can change on its own: each one makes a new object with nftlb's value.
      backend("web-1", "10.244.0.6", { mark: "0x004" }),
      backend("web-2", "10.244.0.7", { mark: "0x005" }),
    ]),
    () => ({ read: first }),
  );
  assert.equal(again.backends[0], first.backends[0]);
  assert.notEqual(again.backends[1], first.backends[1]);
  assert.equal(again.backends[1]?.mark, "0x004");
  assert.deepEqual(again.backends[2], backend("web-2", "10.244.0.7", { mark: "0x005" }));
  for (const [field, value] of [
    ["ip-addr", "10.244.0.9"],
    ["port", "9090"],
    ["weight", "2"],
    ["priority", "2"],
    ["state", "down"],
  ] as const) {
    const changed = parsed(answer([backend("web-0", "10.244.0.5", { [field]: value })]), () => ({
      read: first,
    }));
    assert.notEqual(changed.backends[0], first.backends[0], field);
    assert.equal(changed.backends[0]?.[field], value, field);
  }
  // A mark nftlb no longer lists is not kept from the old copy.
  const { mark: _gone, ...unmarked } = backend("web-0", "10.244.0.5");
  const noMark = parsed(answer([unmarked]), () => ({ read: first }));
  assert.notEqual(noMark.backends[0], first.backends[0]);
  assert.equal(noMark.backends[0]?.mark, undefined);
});

test("earlier copies change no value: parsed with or without them, the farms are equal", () => {
  const body = answer([
    backend("web-0", "10.244.0.5"),
    backend("web-1 ", " 10.244.0.6 ", { state: "down " }),
  ]);
  const alone = parsed(body);
  const sent = {
    name: "shop.web.http",
    addresses: [{ name: "shop.web.http-v4", "ip-addr": "10.96.0.10" }],
    // What was written may differ from what nftlb holds: it only lends its strings.
    backends: [{ name: "web-0", "ip-addr": "10.244.9.9", state: "off" as const }],
  };
  const read = parsed(answer([backend("web-1", "10.244.0.6", { state: "up" })]));
  assert.deepEqual(
    parsed(body, () => ({ read, sent })),
    alone,
  );
  assert.deepEqual(
    parsed(body, () => ({})),
    alone,
  );
});

test("the client's farm read again keeps the backends nftlb did not change, whichever read it was", async () => {
  const b0: Backend = { name: "web-0", "ip-addr": "10.244.0.5", port: "8080", state: "up" };
  const listed = [
    defaultFarm(
      "default.web.http",
      [
        {
          name: "default.web.http-v4",
          family: "ipv4",
          "ip-addr": "10.96.0.10",
          ports: "80",
          protocol: "tcp",
        },
      ],
      [b0, { ...b0, name: "web-1" }],
    ),
  ];
  const respond: Responder = (req, s) => {
    if (req.head.startsWith("POST")) return s.end(http(200, '{"response": "success"}'));
    s.end(http(200, JSON.stringify({ farms: listed })));
  };
  const server = await startRawServer(respond);
  try {
    const c = createNftlbClient({ url: server.url, key: "k", timeoutMs: 2000 });
    assert.ok((await c.listFarms()).ok);
    const before = c.known().get("default.web.http")!.backends;
    // Read back after a write (one GET of the farm), then in a full list: web-0 is unchanged.
    listed[0]!.backends[1] = { ...b0, name: "web-1", state: "down" };
    const patch = { name: "default.web.http", backends: [{ name: "web-1", state: "down" as const }] };
    assert.ok((await c.upsertFarms([patch])).ok);
    assert.ok((await c.listFarms()).ok);
    const after = c.known().get("default.web.http")!.backends;
    assert.equal(after[0], before[0]);
    assert.notEqual(after[1], before[1]);
    assert.equal(after[1]?.state, "down");
  } finally {
    await server.close();
  }
});
