// Every way an answer can go wrong becomes a classified error value, never a throw, and the key
// never shows. Answers come from a raw socket server, so garbage nftlb would never send is possible.
import { test } from "node:test";
import assert from "node:assert/strict";
import net from "node:net";
import { answer, startRawServer, type Responder } from "./raw-server.test-helpers.ts";
import { createNftlbClient, type NftlbLog } from "./client.ts";
import type { Farm, NftlbResult } from "./types.ts";
import { defaultFarm, listedByNftlb } from "./farm-fixture.test-helpers.ts";

const KEY = "Sup3r-s3cret-KEY";
const logged: string[] = [];
const log: NftlbLog = {
  debug: (obj, msg) => logged.push(JSON.stringify(obj) + msg),
  warn: (obj, msg) => logged.push(JSON.stringify(obj) + msg),
};

const withServer = async <T>(respond: Responder, fn: (url: string) => Promise<T>): Promise<T> => {
  const server = await startRawServer(respond);
  try {
    return await fn(server.url);
  } finally {
    await server.close();
  }
};
const client = (url: string, extra: { timeoutMs?: number; maxAnswerBytes?: number } = {}) =>
  createNftlbClient({ url, key: KEY, timeoutMs: extra.timeoutMs ?? 2000, log, ...extra });

const failure = <T>(res: NftlbResult<T>) => {
  assert.equal(res.ok, false, `expected a failure, got ${JSON.stringify(res)}`);
  if (res.ok) throw new Error("unreachable");
  assert.ok(!res.error.message.includes(KEY), `key leaked: ${res.error.message}`);
  return res.error;
};

const farm: Farm = defaultFarm(
  "default.web.http",
  [{ name: "default.web.http-v4", family: "ipv4", "ip-addr": "10.96.0.10", ports: "80", protocol: "tcp" }],
  [{ name: "web-0", "ip-addr": "10.244.0.5", port: "8080", state: "up" }],
);

const garbage: [string, Responder, "terminal" | "retryable", RegExp][] = [
  ["non-JSON 200", (_r, s) => s.end(answer(200, "<html>hello</html>")), "terminal", /not JSON/],
  [
    "JSON of the wrong shape",
    (_r, s) => s.end(answer(200, '{"farms": "nope"}')),
    "terminal",
    /not a farm list/,
  ],
  [
    "truncated body",
    (_r, s) => s.end('HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n{"farms": ['),
    "retryable",
    /aborted|ECONNRESET|hang up|terminated/i,
  ],
  ["connection reset", (_r, s) => s.resetAndDestroy(), "retryable", /ECONNRESET|hang up/],
  ["closed without answer", (_r, s) => s.end(), "retryable", /hang up|ECONNRESET/],
  ["not HTTP at all", (_r, s) => s.end("garbage\r\n\r\n"), "retryable", /HPE|Parse|parse/],
  ["never answers", () => undefined, "retryable", /no complete answer within 300 ms/],
  [
    "dribbles one byte at a time",
    (_r, s) => {
      s.write("HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n");
      const t = setInterval(() => (s.writable ? s.write(" ") : clearInterval(t)), 20);
      s.on("close", () => clearInterval(t));
    },
    "retryable",
    /no complete answer within 300 ms/,
  ],
  [
    "500 from the daemon",
    (_r, s) => s.end(answer(500, '{"response": "out of memory"}')),
    "retryable",
    /HTTP 500/,
  ],
  ["503", (_r, s) => s.end(answer(503, "")), "retryable", /HTTP 503/],
  ["400", (_r, s) => s.end(answer(400, '{"response": "the structure is invalid"}')), "terminal", /invalid/],
  [
    "500 unknown key (a parse failure)",
    (_r, s) => s.end(answer(500, `{"response": "error parsing buffer. Unknown key 'x'"}`)),
    "terminal",
    /Unknown key/,
  ],
  ["server echoes the key", (_r, s) => s.end(answer(400, `{"response": "${KEY}"}`)), "terminal", /<key>/],
];

for (const [name, respond, kind, message] of garbage) {
  test(`listFarms: ${name} → ${kind} error`, async () => {
    const error = await withServer(respond, (url) =>
      client(url, { timeoutMs: 300 }).listFarms().then(failure),
    );
    assert.equal(error.kind, kind);
    assert.equal(error.operation, "listFarms");
    assert.match(error.message, message);
  });
}

test("a huge answer is refused, not buffered without bound", async () => {
  const big = `{"farms": [${'"x",'.repeat(500_000)}"x"]}`;
  const error = await withServer(
    (_r, s) => s.end(answer(200, big)),
    (url) =>
      client(url, { maxAnswerBytes: 1024 * 1024 })
        .listFarms()
        .then(failure),
  );
  assert.equal(error.kind, "terminal");
  assert.match(error.message, /maxContentLength/);
});

test("nftlb's own listing of 10,000 farms × 10 backends (over 64 MiB) is read by the default client", async () => {
  // Every field nftlb 1.0.7 lists, pretty-printed with its 8-space indent, as the real daemon
  // answers GET /farms (~7.2 KB a farm of 10 backends): a node at the syncer's sizing must be
  // readable after a restart of the syncer, not refused as too large.
  const ip = (n: number) => `${n >> 8}.${n & 255}`;
  const listed = (i: number) =>
    listedByNftlb(
      defaultFarm(
        `default.s${i}.http`,
        [
          {
            name: `tcp-10.96.${ip(i)}-80`,
            family: "ipv4",
            "ip-addr": `10.96.${ip(i)}`,
            ports: "80",
            protocol: "tcp",
          },
        ],
        Array.from({ length: 10 }, (_, b) => ({
          name: `10.205.${ip(i * 10 + b)}`,
          "ip-addr": `10.205.${ip(i * 10 + b)}`,
          port: "8080",
          mark: `0x00${(b + 2).toString(16)}`,
          state: "up",
        })),
        { mark: "0x1000", "intra-connect": "on" },
      ),
      () => 1,
    );
  const body = JSON.stringify({ farms: Array.from({ length: 10_000 }, (_, i) => listed(i)) }, null, 8);
  assert.ok(body.length > 64 * 2 ** 20, `the listing is ${body.length} bytes`);
  const res = await withServer(
    (_r, s) => s.end(answer(200, body)),
    (url) => client(url, { timeoutMs: 60_000 }).listFarms(),
  );
  assert.ok(res.ok, res.ok ? "" : res.error.message);
  assert.equal(res.value.length, 10_000);
  assert.equal(res.value[9_999]!.backends.length, 10);
});

test("nothing listening → retryable", async () => {
  const port = await new Promise<number>((resolve) => {
    const s = net.createServer().listen(0, "127.0.0.1", () => {
      const p = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(p));
    });
  });
  const error = failure(await client(`http://127.0.0.1:${port}`).listFarms());
  assert.equal(error.kind, "retryable");
  assert.match(error.message, /ECONNREFUSED/);
});

test("401 → fatal, and the key is in no message or log line", async () => {
  logged.length = 0;
  const error = await withServer(
    (_r, s) => s.end(answer(401, "")),
    (url) => client(url).upsertFarms([farm]).then(failure),
  );
  assert.deepEqual([error.kind, error.status, error.operation], ["fatal", 401, "upsertFarms"]);
  assert.ok(logged.length > 0 && logged.every((l) => !l.includes(KEY)));
});

test("200 with 'Parsing unknown value' → terminal", async () => {
  const error = await withServer(
    (_r, s) =>
      s.end(
        answer(200, `{"response": "success. Parsing unknown value 'sn"at' in 'mode', using default 'snat'"}`),
      ),
    (url) => client(url).upsertFarms([farm]).then(failure),
  );
  assert.equal(error.kind, "terminal");
  assert.match(error.message, /Parsing unknown value 'sn"at'/);
});

const readBack =
  (changed: (f: Farm) => object): Responder =>
  (req, s) =>
    s.end(
      req.head.startsWith("POST")
        ? answer(200, '{"response": "success"}')
        : answer(200, JSON.stringify({ farms: [changed(farm)] })),
    );

for (const [name, changed, message] of [
  ["the farm sits in config_error", (f: Farm) => ({ ...f, state: "config_error" }), /config_error/],
  ["a backend did not stick", (f: Farm) => ({ ...f, backends: [] }), /backend "web-0" is missing/],
  [
    "a backend is config_error",
    (f: Farm) => ({ ...f, backends: [{ ...f.backends[0], state: "config_error" }] }),
    /config_error, not up/,
  ],
  [
    "the address is not ours",
    (f: Farm) => ({ ...f, addresses: [{ ...f.addresses[0], ports: "81" }] }),
    /address/,
  ],
  ["the farm is gone", (f: Farm) => ({ ...f, name: "other" }), /missing/],
] as const) {
  test(`verify after write: ${name} → terminal`, async () => {
    const error = await withServer(readBack(changed), (url) => client(url).upsertFarms([farm]).then(failure));
    assert.equal(error.kind, "terminal");
    assert.match(error.message, message);
  });
}

test("a big write's own deadline covers its read-back too, not only the POST", async () => {
  // Two farms on an empty client: the read-back is one GET /farms, which nftlb answers slowly
  // after a big batch (10–25 s at 5,000 farms under load); the client's own timeout is shorter.
  const two = [
    farm,
    {
      ...farm,
      name: "default.api.http",
      addresses: [{ ...farm.addresses[0]!, name: "default.api.http-v4", "ip-addr": "10.96.0.11" }],
    },
  ];
  const slowRead: Responder = (req, s) =>
    req.head.startsWith("POST")
      ? s.end(answer(200, '{"response": "success"}'))
      : setTimeout(() => s.end(answer(200, JSON.stringify({ farms: two }))), 600);
  const res = await withServer(slowRead, (url) =>
    client(url, { timeoutMs: 300 }).upsertFarms(two, { timeoutMs: 5_000 }),
  );
  assert.equal(res.ok, true, JSON.stringify(res));
});

test("verify after write: values padded with spaces by nftlb still match", async () => {
  const res = await withServer(
    readBack((f) => ({ ...f, persistence: "srcip ", backends: [{ ...f.backends[0], port: "8080 " }] })),
    (url) => client(url).upsertFarms([{ ...farm, persistence: "srcip" }]),
  );
  assert.equal(res.ok, true, JSON.stringify(res));
  assert.equal(res.ok && res.value[0]?.persistence, "srcip");
});

test("GET of an unknown farm is `undefined`, not an error; ping reports the sentinel", async () => {
  await withServer(
    (req, s) =>
      s.end(
        req.head.includes("/farms/kube-nftlb-sentinel")
          ? answer(200, '{"farms": [{"name": "kube-nftlb-sentinel"}]}')
          : answer(500, '{"response": "invalid request"}'),
      ),
    async (url) => {
      const c = client(url);
      assert.deepEqual(await c.getFarm("default.nope.80"), { ok: true, value: undefined });
      assert.deepEqual(await c.ping(), { ok: true, value: { sentinel: true } });
    },
  );
  await withServer(
    (_r, s) => s.end(answer(500, '{"response": "invalid request"}')),
    async (url) => assert.deepEqual(await client(url).ping(), { ok: true, value: { sentinel: false } }),
  );
});

test("invalid input is refused before anything is sent", async () => {
  const server = await startRawServer((_r, s) => s.end(answer(200, '{"response": "success"}')));
  try {
    const c = client(server.url);
    const bad: NftlbResult<unknown>[] = [
      await c.upsertFarms([{ ...farm, name: "has space" }]),
      await c.upsertFarms([
        farm,
        { ...farm, name: "default.other.http", addresses: [{ ...farm.addresses[0]!, name: "o" }] },
      ]),
      await c.deleteFarm("../etc"),
      await c.deleteBackend("ok", "a/b"),
      await c.getFarm(""),
    ];
    for (const r of bad) assert.equal(failure(r).kind, "terminal");
    assert.equal(server.requests.length, 0);
  } finally {
    await server.close();
  }
});

test("read-back after a write: one small GET per farm when few, one GET /farms when many", async () => {
  const many = Array.from({ length: 40 }, (_, i) => ({ ...farm, name: `ns.svc${i}.http`, addresses: [] }));
  const heads: string[] = [];
  const respond: Responder = (req, s) => {
    heads.push(req.head.split(" ").slice(0, 2).join(" "));
    if (req.head.startsWith("POST")) return s.end(answer(200, '{"response": "success"}'));
    const name = /^GET \/farms\/(\S+)/.exec(req.head)?.[1];
    s.end(answer(200, JSON.stringify({ farms: name ? many.filter((f) => f.name === name) : many })));
  };
  await withServer(respond, async (url) => {
    const c = client(url);
    assert.ok((await c.listFarms()).ok);
    heads.length = 0;
    // 2 of 40 farms: two per-farm GETs, not the whole list.
    assert.ok((await c.upsertFarms(many.slice(0, 2))).ok);
    assert.deepEqual(heads, ["POST /farms", "GET /farms/ns.svc0.http", "GET /farms/ns.svc1.http"]);
    heads.length = 0;
    // 20 of 40: one GET of everything is cheaper.
    assert.ok((await c.upsertFarms(many.slice(0, 20))).ok);
    assert.deepEqual(heads, ["POST /farms", "GET /farms"]);
  });
});

test("ping does not wait behind a stuck write, and times out on its own", async () => {
  let posted = () => {};
  const writeArrived = new Promise<void>((r) => (posted = r));
  let hung = false;
  await withServer(
    (req, s) => {
      // A write nftlb never answers (the socket is closed with the server); pings answer until hung.
      if (req.head.startsWith("POST")) return posted();
      if (!hung) s.end(answer(200, '{"farms": [{"name": "kube-nftlb-sentinel"}]}'));
    },
    async (url) => {
      const c = createNftlbClient({ url, key: KEY, timeoutMs: 60_000, pingTimeoutMs: 200, log });
      const write = c.upsertFarms([farm]);
      await writeArrived;
      assert.deepEqual(
        await c.ping(),
        { ok: true, value: { sentinel: true } },
        "answered while the write hangs",
      );
      hung = true;
      assert.equal(failure(await c.ping()).kind, "retryable", "a hung nftlb: the ping gives up by itself");
      void write;
    },
  );
});
