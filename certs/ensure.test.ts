// `certs ensure` against in-memory stores (certs/fake-stores.ts): what it writes, in which
// order, what it refuses, and that concurrent runs converge. The same walk runs against lab's API
// stand-in in certs-apiserver.test.ts.
import { test } from "node:test";
import assert from "node:assert/strict";
import { X509Certificate } from "node:crypto";
import { ensure, type EnsureRequest } from "./ensure.ts";
import { iso, PUBLISHED_ANNOTATION, renewalTime } from "./renewal.ts";
import { KEY, readCert, encodeData, type Cert } from "./secret.ts";
import { ApiError } from "./stores.ts";
import { FakeCluster } from "./fake-stores.ts";

const MIN = 60_000;
const DAY = 86_400_000;
const T0 = Date.parse("2026-01-01T00:00:00Z");
const REQ: EnsureRequest = {
  namespace: "kube-system",
  service: "kube-nftlb",
  secretName: "kube-nftlb-certs",
  webhookNames: ["kube-nftlb", "kube-nftlb-extra"],
  options: { caValidityMs: 90 * DAY, certValidityMs: 30 * DAY, renewBeforeFraction: 0.33, graceMs: 10 * MIN },
  dryRun: false,
};

function certOf(pem: string): Cert {
  const c = readCert(pem);
  assert.ok(!("error" in c), "a readable certificate");
  return c;
}

function cluster(): FakeCluster {
  const c = new FakeCluster();
  c.addConfig("MutatingWebhookConfiguration", "kube-nftlb", [{ name: "mutate.kube-nftlb.io" }]);
  c.addConfig("ValidatingWebhookConfiguration", "kube-nftlb", [{ name: "validate.kube-nftlb.io" }]);
  c.addConfig("ValidatingWebhookConfiguration", "kube-nftlb-extra", [
    { name: "a.kube-nftlb.io" },
    { name: "b.kube-nftlb.io" },
  ]);
  return c;
}

async function runAt(c: FakeCluster, now: number, req: Partial<EnsureRequest> = {}) {
  const lines: string[] = [];
  const result = await ensure(
    { secrets: c, webhooks: c, clock: () => now, log: (l) => lines.push(l) },
    { ...REQ, ...req },
  );
  for (const l of lines) assert.doesNotMatch(l, /PRIVATE KEY|BEGIN/, "no key material in what is printed");
  return { result, lines };
}

function assertConsistent(c: FakeCluster): void {
  const bundle = c.secretFile(KEY.bundle);
  assert.ok(bundle);
  assert.deepEqual(
    c.bundles(),
    c.bundles().map(() => bundle),
    "every caBundle equals ca.crt",
  );
  const served = new X509Certificate(c.secretFile(KEY.cert) ?? "");
  assert.ok(served.checkHost("kube-nftlb.kube-system.svc"));
}

test("first run creates the Secret and every caBundle; an immediate second run writes nothing", async () => {
  const c = cluster();
  const first = await runAt(c, T0);
  assert.deepEqual(first.result, { ok: true, changed: true });
  const secret = c.secrets.get("kube-system/kube-nftlb-certs");
  assert.equal(secret?.type, "kubernetes.io/tls");
  assert.deepEqual(Object.keys(secret?.data ?? {}).sort(), ["ca.crt", "ca.key", "tls.crt", "tls.key"]);
  assert.equal(c.bundles().length, 4);
  assertConsistent(c);
  assert.deepEqual(c.writes, [
    "create secret kube-system/kube-nftlb-certs",
    "patch MutatingWebhookConfiguration/kube-nftlb mutate.kube-nftlb.io",
    "patch ValidatingWebhookConfiguration/kube-nftlb validate.kube-nftlb.io",
    "patch ValidatingWebhookConfiguration/kube-nftlb-extra a.kube-nftlb.io,b.kube-nftlb.io",
    // after the patches: since when every caBundle holds the signing CA (CA rotation step 2)
    "update secret kube-system/kube-nftlb-certs",
  ]);
  assert.match(first.lines.join("\n"), /Secret kube-system\/kube-nftlb-certs created/);
  const record = c.secrets.get("kube-system/kube-nftlb-certs")?.metadata?.annotations?.[PUBLISHED_ANNOTATION];
  assert.equal(record, `${certOf(c.secretFile(KEY.bundle) ?? "").fingerprint} ${iso(T0)}`);

  const writes = c.writes.length;
  const second = await runAt(c, T0 + MIN);
  assert.deepEqual(second.result, { ok: true, changed: false });
  assert.equal(c.writes.length, writes);
  assert.match(second.lines.join("\n"), /nothing to do/);
});

test("a caBundle emptied by a re-applied manifest is restored; of the Secret only its record changes", async () => {
  const c = cluster();
  await runAt(c, T0);
  c.addConfig("ValidatingWebhookConfiguration", "kube-nftlb", [{ name: "validate.kube-nftlb.io" }]);
  c.writes = [];
  const r = await runAt(c, T0 + MIN);
  assert.deepEqual(r.result, { ok: true, changed: true });
  assert.deepEqual(c.writes, [
    "patch ValidatingWebhookConfiguration/kube-nftlb validate.kube-nftlb.io",
    "update secret kube-system/kube-nftlb-certs",
  ]);
  const record = c.secrets.get("kube-system/kube-nftlb-certs")?.metadata?.annotations?.[PUBLISHED_ANNOTATION];
  assert.match(record ?? "", new RegExp(` ${iso(T0 + MIN)}$`));
  assertConsistent(c);
});

test("time travel: a serving renewal, then a CA rotation over three runs, every state consistent", async () => {
  const c = cluster();
  await runAt(c, T0);
  const firstCert = c.secretFile(KEY.cert);
  const renewAt = renewalTime(certOf(firstCert ?? ""), 0.33) + MIN;
  c.writes = [];
  await runAt(c, renewAt);
  assert.deepEqual(c.writes, ["update secret kube-system/kube-nftlb-certs"], "same CA: no caBundle changes");
  assert.notEqual(c.secretFile(KEY.cert), firstCert);
  assertConsistent(c);

  const caAt = renewalTime(certOf(c.secretFile(KEY.bundle) ?? ""), 0.33) + MIN;
  await runAt(c, caAt - 2 * DAY); // the 30-day serving certificate has expired by now: reissued
  const sequence: string[][] = [];
  for (const at of [caAt, caAt + MIN, caAt + 15 * MIN, caAt + 16 * MIN, caAt + 30 * MIN, caAt + 31 * MIN]) {
    c.writes = [];
    const r = await runAt(c, at);
    assert.equal(r.result.ok, true);
    sequence.push(c.writes.map((w) => w.split(" ").slice(0, 2).join(" ")));
    assertConsistent(c);
  }
  const patchAll = [
    "patch MutatingWebhookConfiguration/kube-nftlb",
    "patch ValidatingWebhookConfiguration/kube-nftlb",
    "patch ValidatingWebhookConfiguration/kube-nftlb-extra",
  ];
  assert.deepEqual(
    sequence,
    [
      ["update secret", ...patchAll, "update secret"], // step 1: new CA into ca.crt and every caBundle; recorded
      [], // waits for grace
      ["update secret"], // step 2: serving certificate from the new CA; caBundles unchanged
      [], // waits for grace
      ["update secret", ...patchAll], // step 3: old CA dropped
      [],
    ].map((s) => s.map((w) => w.split(" ").slice(0, 2).join(" "))),
  );
  assert.equal(c.secretFile(KEY.bundle)?.match(/BEGIN CERTIFICATE/g)?.length, 1);
});

test("two runs at once converge on one CA: the loser of the create re-reads the winner's Secret", async () => {
  const c = cluster();
  const [a, b] = await Promise.all([runAt(c, T0), runAt(c, T0)]);
  assert.equal(a.result.ok && b.result.ok, true);
  assert.equal(c.writes.filter((w) => w.startsWith("create secret")).length, 1);
  assert.match([...a.lines, ...b.lines].join("\n"), /conflict: another writer changed the objects meanwhile/);
  assertConsistent(c);
  const again = await runAt(c, T0 + MIN);
  assert.deepEqual(again.result, { ok: true, changed: false });
});

test("two renewals at once: one update wins, the other re-reads and finds nothing to do", async () => {
  const c = cluster();
  await runAt(c, T0);
  const at = renewalTime(certOf(c.secretFile(KEY.cert) ?? ""), 0.33) + MIN;
  c.writes = [];
  const [a, b] = await Promise.all([runAt(c, at), runAt(c, at)]);
  assert.equal(a.result.ok && b.result.ok, true);
  assert.deepEqual(c.writes, ["update secret kube-system/kube-nftlb-certs"]);
  assertConsistent(c);
});

test("a webhook list reordered between read and patch is re-read, never patched at the wrong index", async () => {
  const c = cluster();
  let reordered = false;
  c.before = (op, what) => {
    if (op === "webhook.patch" && what.endsWith("kube-nftlb-extra") && !reordered) {
      reordered = true;
      const cfg = c.configs.get(what);
      cfg?.webhooks?.reverse();
    }
  };
  const r = await runAt(c, T0);
  assert.equal(r.result.ok, true);
  assert.ok(reordered);
  assertConsistent(c);
});

test("dry run prints the plan and writes nothing", async () => {
  const c = cluster();
  const r = await runAt(c, T0, { dryRun: true });
  assert.deepEqual(r.result, { ok: true, changed: false });
  assert.deepEqual(c.writes, []);
  assert.match(r.lines.join("\n"), /dry run: would create Secret kube-system\/kube-nftlb-certs/);
  assert.match(
    r.lines.join("\n"),
    /dry run: would set the caBundle of 2 webhook\(s\) in ValidatingWebhookConfiguration kube-nftlb-extra/,
  );
});

test("bad input is refused with a clear error and nothing is written", async (t) => {
  const garbage = (data: Record<string, string>, type = "kubernetes.io/tls") => ({
    metadata: { name: "kube-nftlb-certs", resourceVersion: "1" },
    type,
    data: encodeData(data),
  });
  const good = cluster();
  await runAt(good, T0);
  const goodData = good.secrets.get("kube-system/kube-nftlb-certs")?.data ?? {};
  const cases: [string, (c: FakeCluster) => void, Partial<EnsureRequest>, RegExp][] = [
    [
      "Secret of another type",
      (c) => c.secrets.set("kube-system/kube-nftlb-certs", garbage({ "tls.crt": "x" }, "Opaque")),
      {},
      /has type "Opaque", expected "kubernetes.io\/tls"; refusing to touch it/,
    ],
    [
      "garbage ca.crt",
      (c) =>
        c.secrets.set("kube-system/kube-nftlb-certs", garbage({ "ca.crt": "garbage", "ca.key": "garbage" })),
      {},
      /ca.crt holds no PEM certificate/,
    ],
    [
      "ca.key of another CA",
      (c) =>
        c.secrets.set("kube-system/kube-nftlb-certs", {
          ...garbage({}),
          data: { ...goodData, "ca.key": goodData["tls.key"] ?? "" },
        }),
      {},
      /ca.key matches no certificate in ca.crt/,
    ],
    [
      "data that is not base64",
      (c) => c.secrets.set("kube-system/kube-nftlb-certs", { ...garbage({}), data: { "ca.crt": "!!!" } }),
      {},
      /data.ca.crt is not base64/,
    ],
    [
      "a missing webhook configuration",
      () => {},
      { webhookNames: ["kube-nftlb", "nope"] },
      /webhook configuration "nope" not found/,
    ],
    [
      "a wrong namespace",
      (c) => c.namespaces.add("default"),
      { namespace: "default" },
      /calls Service kube-system\/kube-nftlb, but --namespace\/--service say default\/kube-nftlb/,
    ],
    ["a wrong service", () => {}, { service: "other" }, /but --namespace\/--service say kube-system\/other/],
    [
      "a URL webhook",
      (c) =>
        c.configs.set("ValidatingWebhookConfiguration/kube-nftlb-extra", {
          metadata: { name: "kube-nftlb-extra" },
          webhooks: [{ name: "u", clientConfig: { url: "https://example.com/x" } }],
        }),
      {},
      /calls https:\/\/example.com\/x, not a Service/,
    ],
  ];
  for (const [label, setup, req, message] of cases) {
    await t.test(label, async () => {
      const c = cluster();
      setup(c);
      const before = structuredClone([...c.secrets.entries(), ...c.configs.entries()]);
      const r = await runAt(c, T0, req);
      assert.equal(r.result.ok, false);
      assert.match(r.result.ok ? "" : r.result.error, message);
      assert.deepEqual(c.writes, []);
      assert.deepEqual([...c.secrets.entries(), ...c.configs.entries()], before);
    });
  }
});

test("a namespace that does not exist: the Secret create fails first, so nothing else is written", async () => {
  const c = new FakeCluster();
  c.addConfig("ValidatingWebhookConfiguration", "kube-nftlb", [{ name: "v", namespace: "missing" }]);
  const r = await runAt(c, T0, { namespace: "missing", webhookNames: ["kube-nftlb"] });
  assert.equal(r.result.ok, false);
  assert.match(
    r.result.ok ? "" : r.result.error,
    /cannot create Secret missing\/kube-nftlb-certs: namespaces "missing" not found \(does namespace "missing" exist\?\)/,
  );
  assert.deepEqual(c.writes, []);
});

test("an API error reads as one; a rerun after a failed caBundle patch converges", async () => {
  const c = cluster();
  c.before = (op) => {
    if (op === "secret.get")
      throw new ApiError(
        403,
        'GET secrets kube-system/kube-nftlb-certs: 403 secrets "kube-nftlb-certs" is forbidden',
      );
  };
  const denied = await runAt(c, T0);
  assert.deepEqual(denied.result, {
    ok: false,
    error:
      'Kubernetes API error: GET secrets kube-system/kube-nftlb-certs: 403 secrets "kube-nftlb-certs" is forbidden',
  });
  assert.deepEqual(c.writes, []);

  c.before = (op, what) => {
    if (op === "webhook.patch" && what.startsWith("Validating"))
      throw new ApiError(500, "PATCH: 500 etcdserver: request timed out");
  };
  const half = await runAt(c, T0);
  assert.equal(half.result.ok, false);
  c.before = () => {};
  const rerun = await runAt(c, T0 + MIN);
  assert.deepEqual(rerun.result, { ok: true, changed: true });
  assertConsistent(c);
});
