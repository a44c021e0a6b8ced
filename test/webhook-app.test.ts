// The express app over real sockets (supertest): every bad request and every verdict.
import { after, test } from "node:test";
import { createServer, request as httpRequest } from "node:http";
import { connect, type AddressInfo } from "node:net";
import { deflateSync, gzipSync } from "node:zlib";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import request from "supertest";
import { createLogger, createRegistry } from "../runtime/index.ts";
import { createApp } from "../webhook/app.ts";
import { webhookMetrics } from "../webhook/metrics.ts";
import {
  admissionReview,
  key,
  request as admission,
  service,
} from "../webhook/review-fixtures.test-helpers.ts";
import type { AdmissionReviewOut } from "../webhook/review.ts";

function setup(options: () => object = () => ({})) {
  const lines: Record<string, unknown>[] = [];
  const log = createLogger({
    name: "webhook",
    destination: { write: (s: string) => void lines.push(JSON.parse(s) as Record<string, unknown>) },
  });
  const registry = createRegistry({ defaultMetrics: false });
  const app = createApp({ log, metrics: webhookMetrics(registry), options, maxBodyBytes: 7 * 1024 * 1024 });
  return { app, lines, registry };
}

const { app, lines, registry } = setup();

function isReview(body: unknown): asserts body is AdmissionReviewOut {
  const b = body as AdmissionReviewOut;
  assert.equal(b.apiVersion, "admission.k8s.io/v1");
  assert.equal(b.kind, "AdmissionReview");
  assert.equal(typeof b.response.allowed, "boolean");
}

async function post(path: string, body: string | object, type = "application/json") {
  const res = await request(app).post(path).set("content-type", type).send(body);
  assert.equal(res.status, 200);
  assert.match(res.headers["content-type"] ?? "", /^application\/json/);
  isReview(res.body);
  return res.body;
}

const bad: [string, string | object, string, number, RegExp][] = [
  ["text/plain", "{}", "text/plain", 415, /content type must be application\/json, got text\/plain/],
  ["form encoded", "a=1", "application/x-www-form-urlencoded", 415, /content type/],
  ["an unsupported charset", "{}", "application/json; charset=latin1", 415, /charset/i],
  ["malformed JSON", '{"apiVersion": ', "application/json", 400, /malformed JSON/],
  ["an empty body", "", "application/json", 400, /not an admission.k8s.io\/v1 AdmissionReview/],
  ["JSON null", "null", "application/json", 400, /not an admission.k8s.io\/v1 AdmissionReview$/],
  ["a JSON array", "[1,2]", "application/json", 400, /not an admission/],
  ["a JSON string", '"x"', "application/json", 400, /not an admission/],
  [
    "a v1beta1 review",
    { apiVersion: "admission.k8s.io/v1beta1", kind: "AdmissionReview", request: { uid: "x" } },
    "application/json",
    400,
    /apiVersion must be admission.k8s.io\/v1/,
  ],
  [
    "another kind",
    { apiVersion: "admission.k8s.io/v1", kind: "Pod" },
    "application/json",
    400,
    /kind must be AdmissionReview/,
  ],
  [
    "no request",
    { apiVersion: "admission.k8s.io/v1", kind: "AdmissionReview" },
    "application/json",
    400,
    /request/,
  ],
  [
    "a missing uid",
    { apiVersion: "admission.k8s.io/v1", kind: "AdmissionReview", request: { operation: "CREATE" } },
    "application/json",
    400,
    /request.uid/,
  ],
  [
    "an empty uid",
    { apiVersion: "admission.k8s.io/v1", kind: "AdmissionReview", request: { uid: "", operation: "CREATE" } },
    "application/json",
    400,
    /request.uid must be a non-empty string/,
  ],
];

/**
 * /validate's errors are refusals carrying their code (SPEC §5). /mutate admits unpatched with the
 * reason as a warning: kube-apiserver's mutating dispatcher turns allowed:false into a rejection
 * that failurePolicy Ignore does not cover (the validating webhook still judges the request).
 */
function assertFailed(path: string, b: AdmissionReviewOut, code: number, message: RegExp): void {
  assert.doesNotMatch(JSON.stringify(b), /at .*\.ts:\d+|<html/i);
  if (path.startsWith("/validate")) {
    assert.equal(b.response.allowed, false);
    assert.equal(b.response.status?.code, code);
    assert.match(b.response.status?.message ?? "", message);
    return;
  }
  assert.equal(b.response.allowed, true);
  assert.equal(b.response.patch, undefined);
  assert.equal(b.response.status, undefined);
  assert.equal(b.response.warnings?.length, 1);
  assert.match(b.response.warnings?.[0] ?? "", new RegExp(`^kube-nftlb wrote no defaults \\(${code} `));
  assert.match(b.response.warnings?.[0] ?? "", message);
}

for (const [name, body, type, code, message] of bad) {
  for (const path of ["/validate", "/mutate"]) {
    test(`${path} answers ${name} with an AdmissionReview carrying ${code}`, async () => {
      assertFailed(path, await post(path, body, type), code, message);
    });
  }
}

test("a request without a uid in a valid shape still echoes what it can: an empty uid", async () => {
  const b = await post("/validate", {
    apiVersion: "admission.k8s.io/v1",
    kind: "AdmissionReview",
    request: { uid: 7 },
  });
  assert.equal(b.response.uid, "");
});

test("a bad object echoes the uid of the request", async () => {
  const b = await post(
    "/validate",
    admissionReview(admission(service({ spec: { ports: [{ port: "x" }] } }), { uid: "keep-me" })),
  );
  assert.equal(b.response.uid, "keep-me");
  assert.equal(b.response.status?.code, 400);
});

test("a body over 7 MiB is answered 413 inside an AdmissionReview", async () => {
  const huge = JSON.stringify(
    admissionReview(admission(service({ annotations: { pad: "x".repeat(7 * 1024 * 1024) } }))),
  );
  const b = await post("/validate", huge);
  assert.equal(b.response.status?.code, 413);
  assert.equal(b.response.status?.reason, "RequestEntityTooLarge");
  // …and the server answers the next request normally.
  const ok = await post("/validate", admissionReview(admission(service(), { uid: "after" })));
  assert.deepEqual(ok.response, { uid: "after", allowed: true });
});

test("a body just under 7 MiB is judged", async () => {
  // Large in fields we do not model (as managedFields make real reviews large): annotations
  // themselves stop at Kubernetes' 256 KiB.
  const big = admissionReview(
    admission(service({ metadataExtra: { managedFields: [{ pad: "x".repeat(6 * 1024 * 1024) }] } }), {
      uid: "big",
    }),
  );
  const b = await post("/validate", big);
  assert.deepEqual(b.response, { uid: "big", allowed: true });
});

test("verdict allowed: a valid Service", async () => {
  const b = await post(
    "/validate",
    admissionReview(admission(service({ annotations: { [key("mode")]: "dnat" } }), { uid: "a" })),
  );
  assert.deepEqual(b.response, { uid: "a", allowed: true });
});

test("verdict allowed with warnings: persistence against sessionAffinity", async () => {
  const spec = { ports: [{ port: 80 }], sessionAffinity: "ClientIP" };
  const b = await post(
    "/validate",
    admissionReview(admission(service({ spec, annotations: { [key("persistence")]: "srcmac" } }))),
  );
  assert.equal(b.response.allowed, true);
  assert.match(b.response.warnings?.[0] ?? "", /takes priority/);
});

test("verdict denied: 403 Forbidden with every error", async () => {
  const annotations = { [key("mode")]: "SNAT", [key("helper")]: "irc" };
  const b = await post("/validate", admissionReview(admission(service({ annotations }), { uid: "d" })));
  assert.equal(b.response.uid, "d");
  assert.equal(b.response.allowed, false);
  assert.deepEqual(
    { ...b.response.status, message: undefined },
    { code: 403, reason: "Forbidden", status: "Failure", message: undefined },
  );
  assert.match(b.response.status?.message ?? "", /\(1\) .*SNAT.* \(2\) .*irc/);
});

test("verdict patched: base64 JSONPatch with the defaults", async () => {
  const b = await post("/mutate", admissionReview(admission(service(), { uid: "p" })));
  assert.equal(b.response.allowed, true);
  assert.equal(b.response.patchType, "JSONPatch");
  const ops = JSON.parse(Buffer.from(b.response.patch ?? "", "base64").toString()) as unknown[];
  assert.deepEqual(ops, [
    {
      op: "add",
      path: "/metadata/annotations",
      value: {
        [key("mode")]: "snat",
        [key("scheduler")]: "rr",
        [key("helper")]: "none",
        [key("log")]: "none",
      },
    },
  ]);
});

test("mutate with nothing to add answers allowed without patch or patchType", async () => {
  const annotations = {
    [key("mode")]: "snat",
    [key("scheduler")]: "rr",
    [key("helper")]: "none",
    [key("log")]: "none",
  };
  const b = await post("/mutate", admissionReview(admission(service({ annotations }), { uid: "n" })));
  assert.deepEqual(b.response, { uid: "n", allowed: true });
});

test("an object that is not a Service is admitted with a warning by both paths", async () => {
  for (const path of ["/validate", "/mutate"]) {
    const b = await post(
      path,
      admissionReview(admission({ kind: "ConfigMap", metadata: { name: "c" } }, { kind: "ConfigMap" })),
    );
    assert.equal(b.response.allowed, true);
    assert.equal(b.response.patch, undefined);
    assert.match(b.response.warnings?.[0] ?? "", /ConfigMap admitted unchecked/);
  }
});

test("other paths and methods get JSON, never HTML", async () => {
  const get = await request(app).get("/validate");
  assert.equal(get.status, 405);
  assert.equal((get.body as AdmissionReviewOut).response.status?.code, 405);
  const nope = await request(app).post("/nope").set("content-type", "application/json").send("{}");
  assert.equal(nope.status, 404);
  assert.match(nope.headers["content-type"] ?? "", /json/);
  assert.equal((nope.body as AdmissionReviewOut).response.status?.code, 404);
});

test("every answer carries its Content-Length, never chunked: a review, a patch, a 415, a 404", async () => {
  const review = admissionReview(admission(service(), { uid: "sized" }));
  const answers = [
    await request(app).post("/validate").set("content-type", "application/json").send(review),
    await request(app).post("/mutate").set("content-type", "application/json").send(review),
    await request(app).post("/validate").set("content-type", "text/plain").send("{}"),
    await request(app).post("/nope").set("content-type", "application/json").send("{}"),
  ];
  for (const res of answers) {
    assert.equal(res.headers["transfer-encoding"], undefined, res.text);
    assert.equal(res.headers["content-length"], String(Buffer.byteLength(res.text)), res.text);
  }
  assert.match(answers[1]!.text, /"patchType":"JSONPatch"/);
});

test("the admission paths match as express routes do: any case, one trailing slash, a query", async () => {
  const body = admissionReview(admission(service(), { uid: "spelled" }));
  for (const path of ["/VALIDATE", "/validate/", "/Mutate?timeout=2s", "/mutate/"])
    assert.equal((await post(path, body)).response.uid, "spelled", path);
  for (const path of ["/validate//", "/validat%65", "/validate/x"]) {
    const res = await request(app).post(path).set("content-type", "application/json").send(body);
    assert.equal(res.status, 404, path);
  }
});

test("a review gets byte for byte the same answer whether its URL is a plain path or absolute-form", async () => {
  const port = await listening;
  const exchange = (target: string, body: string) =>
    new Promise<string>((resolve, reject) => {
      const sock = connect(port, "127.0.0.1", () =>
        sock.write(
          `POST ${target} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n` +
            `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
        ),
      );
      let text = "";
      sock.on("data", (c: Buffer) => (text += c.toString()));
      sock.on("close", () => resolve(text.replace(/^date: .*\r\n/im, "")));
      sock.on("error", reject);
    });
  const bad = service({ annotations: { [key("scheduler")]: "round-robin" } });
  for (const [path, object] of [
    ["/validate?timeout=5s", bad],
    ["/mutate", service()],
    ["/validate", "not json"],
  ] as const) {
    const body = typeof object === "string" ? object : JSON.stringify(admissionReview(admission(object)));
    const direct = await exchange(path, body);
    assert.match(direct, /^HTTP\/1\.1 200 OK\r\n/);
    assert.equal(await exchange(`http://127.0.0.1:${port}${path}`, body), direct, path);
  }
});

test("garbage never crashes the app and always gets an AdmissionReview: a 400 or 415, or judged", async () => {
  const samples: (string | Buffer)[] = [
    randomBytes(1024),
    "\u0000\u0001{",
    '{"request":{"uid":"g","operation":"CREATE","object":{"kind":"Service","metadata":{"annotations":[]}}}}',
    '{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"g","operation":"CREATE","object":{"kind":"Service","metadata":null}}}',
    '{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"g","operation":"CREATE","kind":"x","object":{}}}',
    "[".repeat(5000) + "]".repeat(5000),
    '{"__proto__":{"allowed":true},"apiVersion":"admission.k8s.io/v1"}',
  ];
  for (let i = 0; i < 50; i++) samples.push(randomBytes(1 + ((i * 37) % 4000)));
  for (const body of samples) {
    for (const path of ["/validate", "/mutate"]) {
      const b = await post(path, body);
      assert.equal(typeof b.response.uid, "string");
      const code =
        path === "/validate" ? b.response.status?.code : /\((\d+) /.exec(b.response.warnings?.[0] ?? "")?.[1];
      assert.ok(
        [400, 415, "400", "415"].includes(code ?? 0),
        `${path} ${String(body).slice(0, 60)}: ${JSON.stringify(b)}`,
      );
      assertFailed(path, b, Number(code), /./);
    }
  }
  // A review whose oldObject is not an object: the object is still judged (and admitted).
  const odd =
    '{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"g","operation":"UPDATE","object":{"kind":"Service","metadata":{}},"oldObject":"x"}}';
  for (const path of ["/validate", "/mutate"]) assert.equal((await post(path, odd)).response.allowed, true);
  const still = await post("/validate", admissionReview(admission(service(), { uid: "alive" })));
  assert.deepEqual(still.response, { uid: "alive", allowed: true });
});

test("a failure inside judging is a 500 AdmissionReview without the stack; the log has it", async () => {
  const broken = setup(() => {
    throw new Error("boom in options");
  });
  for (const path of ["/validate", "/mutate"]) {
    const res = await request(broken.app)
      .post(path)
      .set("content-type", "application/json")
      .send(admissionReview(admission(service(), { uid: "e" })));
    assert.equal(res.status, 200);
    assert.equal((res.body as AdmissionReviewOut).response.uid, "e");
    assertFailed(path, res.body as AdmissionReviewOut, 500, /internal error while judging/);
    assert.doesNotMatch(JSON.stringify(res.body), /boom/);
  }
  assert.equal(broken.lines.filter((l) => JSON.stringify(l).includes("boom in options")).length, 2);
  // Counted and logged as errored on both paths, though /mutate's answer admits.
  assert.equal(broken.lines.filter((l) => l.verdict === "errored" && l.code === 500).length, 2);
});

test("at info, admitted reviews write no line, refusals and errors do; at debug, every review does", async () => {
  const allowed = admissionReview(admission(service(), { uid: "quiet-allowed" }));
  const patched = admissionReview(admission(service(), { uid: "quiet-patched" }));
  const denied = admissionReview(
    admission(service({ annotations: { [key("mode")]: "bad" } }), { uid: "loud-denied" }),
  );
  await post("/validate", allowed);
  await post("/mutate", patched);
  await post("/validate", denied);
  await post("/validate", "{oops");
  const uids = lines.map((l) => l.uid);
  assert.ok(
    !uids.includes("quiet-allowed") && !uids.includes("quiet-patched"),
    "admitted reviews logged at info",
  );
  assert.equal(lines.find((l) => l.uid === "loud-denied")?.level, 30);
  assert.ok(
    lines.some((l) => l.level === 40 && l.verdict === "errored" && /malformed JSON/.test(String(l.reason))),
  );

  const debugLines: Record<string, unknown>[] = [];
  const debugLog = createLogger({
    name: "webhook",
    level: "debug",
    destination: { write: (s: string) => void debugLines.push(JSON.parse(s) as Record<string, unknown>) },
  });
  const metrics = webhookMetrics(createRegistry({ defaultMetrics: false }));
  const debugApp = createApp({ log: debugLog, metrics, options: () => ({}) });
  await request(debugApp).post("/mutate").set("content-type", "application/json").send(patched);
  const line = debugLines.find((l) => l.uid === "quiet-patched");
  assert.equal(line?.level, 20);
  assert.equal(line?.verdict, "patched");
});

test("each answer is logged with uid, namespace, name, operation and verdict, and counted", async () => {
  const object = service({ name: "api", namespace: "prod", annotations: { [key("mode")]: "bad" } });
  await post("/validate", admissionReview(admission(object, { uid: "logged", operation: "CREATE" })));
  const line = lines.find((l) => l.uid === "logged");
  assert.ok(line, "no log line for the request");
  assert.deepEqual(
    {
      ns: line.namespace,
      name: line.name,
      op: line.operation,
      verdict: line.verdict,
      code: line.code,
      msg: line.msg,
    },
    { ns: "prod", name: "api", op: "CREATE", verdict: "denied", code: 403, msg: "admission review" },
  );
  const metrics = await registry.metrics();
  assert.match(
    metrics,
    /kube_nftlb_webhook_admission_requests_total\{path="\/validate",verdict="denied"\} \d+/,
  );
  assert.match(
    metrics,
    /kube_nftlb_webhook_admission_requests_total\{path="\/mutate",verdict="patched"\} \d+/,
  );
  assert.match(
    metrics,
    /kube_nftlb_webhook_admission_duration_seconds_bucket\{le="0.005",path="\/validate",verdict="errored"\} \d+/,
  );
});

/** The app on a real port, for bodies supertest would re-encode (Buffers are sent as JSON). */
const listening = new Promise<number>((resolve) => {
  const s = createServer(app).listen(0, "127.0.0.1", () => resolve((s.address() as AddressInfo).port));
  after(() => s.close());
});

async function rawPost(headers: Record<string, string>, body: Buffer | string) {
  const port = await listening;
  return new Promise<AdmissionReviewOut>((resolve, reject) => {
    const req = httpRequest(
      {
        host: "127.0.0.1",
        port,
        path: "/validate",
        method: "POST",
        headers: { "content-type": "application/json", ...headers },
      },
      (res) => {
        let text = "";
        res.on("data", (c: Buffer) => (text += c.toString()));
        res.on("end", () => resolve(JSON.parse(text) as AdmissionReviewOut));
      },
    );
    req.on("error", reject);
    req.end(body);
  });
}

test("bodies: gzip and deflate are decoded, a compressed bomb is 413, other encodings 415", async () => {
  const review = JSON.stringify(admissionReview(admission(service(), { uid: "zipped" })));
  for (const [encoding, packed] of [
    ["gzip", gzipSync(review)],
    ["deflate", deflateSync(review)],
  ] as const) {
    const b = await rawPost({ "content-encoding": encoding }, packed);
    assert.deepEqual(b.response, { uid: "zipped", allowed: true }, encoding);
  }
  const bomb = gzipSync(Buffer.alloc(8 * 1024 * 1024, 32)); // 8 MiB of spaces in ~8 KB
  assert.equal((await rawPost({ "content-encoding": "gzip" }, bomb)).response.status?.code, 413);
  const odd = await rawPost({ "content-encoding": "compress" }, review);
  assert.equal(odd.response.status?.code, 415);
  assert.match(odd.response.status?.message ?? "", /content encoding "compress"/);
  const broken = await rawPost({ "content-encoding": "gzip" }, "not gzip at all");
  assert.equal(broken.response.status?.code, 400);
});

test("bodies: charset utf-8 in any spelling is accepted; a body shorter than its Content-Length is not judged", async () => {
  for (const type of [
    "application/json; charset=utf-8",
    'Application/JSON; charset="UTF-8"',
    "application/json;charset=utf8",
  ]) {
    const b = await post("/validate", admissionReview(admission(service(), { uid: "cs" })), type);
    assert.deepEqual(b.response, { uid: "cs", allowed: true }, type);
  }
  // A client that promises more than it sends and half-closes: never judged.
  const port = await listening;
  const answer = await new Promise<string>((resolve) => {
    const sock = connect(port, "127.0.0.1", () => {
      sock.end(
        "POST /validate HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{}",
      );
    });
    let text = "";
    sock.on("data", (c: Buffer) => (text += c.toString()));
    sock.on("close", () => resolve(text));
    sock.on("error", () => resolve(text));
  });
  assert.doesNotMatch(answer, /"allowed":true/);
});
