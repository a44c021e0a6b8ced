// The HTTPS server: TLS 1.2+, readiness, probes, certificate reload the way kubelet updates a
// Secret (with a load loop running: zero failed requests), refusal of bad pairs, draining.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { X509Certificate } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { Agent, request } from "node:https";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { connect } from "node:tls";
import { createLogger } from "../runtime/index.ts";
import { startWebhook } from "../webhook/server.ts";
import type { AdmissionReviewOut } from "../webhook/review.ts";
import { admissionReview, request as admission, service } from "../webhook/review-fixtures.test-helpers.ts";
import { makeCa } from "./webhook-pki.ts";
import { post, probe, SecretVolume } from "./webhook-tls.ts";
import { until } from "./until.ts";

const root = mkdtempSync(join(tmpdir(), `webhook-server-${process.pid}-`));
after(() => rmSync(root, { recursive: true, force: true }));

const ca = makeCa();
const leaves = [ca.sign("one"), ca.sign("two"), ca.sign("three")];
const fp = (pem: string): string => new X509Certificate(pem).fingerprint256;
const body = JSON.stringify(admissionReview(admission(service(), { uid: "load" })));

function capture() {
  const lines: Record<string, unknown>[] = [];
  const log = createLogger({
    name: "webhook",
    destination: { write: (s: string) => void lines.push(JSON.parse(s) as Record<string, unknown>) },
  });
  return { log, lines };
}

async function start(volume: SecretVolume, log = capture().log) {
  return startWebhook({
    tlsCert: volume.certFile,
    tlsKey: volume.keyFile,
    port: 0,
    probePort: 0,
    host: "127.0.0.1",
    log,
    certificatePollMs: 200,
    drainTimeoutMs: 5000,
  });
}

test("not ready and not serving until a certificate appears; then ready over TLS 1.2+", async () => {
  const volume = new SecretVolume(join(root, "late"));
  const webhook = await start(volume);
  try {
    assert.equal(await probe(webhook.probePort, "/healthz"), 200);
    assert.equal(await probe(webhook.probePort, "/readyz"), 503);
    await assert.rejects(post(webhook.port, ca.cert, "/validate", body, false));
    volume.write({ "tls.crt": leaves[0]!.cert, "tls.key": leaves[0]!.key });
    await until("readyz", async () => (await probe(webhook.probePort, "/readyz")) === 200);
    const r = await post(webhook.port, ca.cert, "/validate", body, false);
    assert.equal(r.status, 200);
    assert.deepEqual((JSON.parse(r.body) as AdmissionReviewOut).response, { uid: "load", allowed: true });
    assert.equal(r.fingerprint, fp(leaves[0]!.cert));
    assert.match(r.protocol ?? "", /^TLSv1\.[23]$/);
    const metrics = await (await fetch(`http://127.0.0.1:${webhook.probePort}/metrics`)).text();
    assert.match(
      metrics,
      /kube_nftlb_webhook_admission_requests_total\{path="\/validate",verdict="allowed"\} 1/,
    );
    assert.match(metrics, /kube_nftlb_webhook_certificate_expiry_timestamp_seconds \d+/);
    assert.match(metrics, /process_cpu_user_seconds_total/);
  } finally {
    await webhook.close();
  }
});

test("TLS below 1.2 is refused", async () => {
  const volume = new SecretVolume(join(root, "old-tls"));
  volume.write({ "tls.crt": leaves[0]!.cert, "tls.key": leaves[0]!.key });
  const webhook = await start(volume);
  try {
    const outcome = await new Promise<string>((resolve) => {
      const s = connect({
        host: "127.0.0.1",
        port: webhook.port,
        ca: ca.cert,
        minVersion: "TLSv1",
        maxVersion: "TLSv1.1",
        ciphers: "DEFAULT@SECLEVEL=0",
      });
      s.on("secureConnect", () => resolve(`connected with ${s.getProtocol()}`));
      s.on("error", (e: Error) => resolve(`refused: ${e.message}`));
    });
    assert.match(outcome, /^refused/);
  } finally {
    await webhook.close();
  }
});

test("rotating the Secret the kubelet way under load: zero failed requests, the new certificate served", async () => {
  const volume = new SecretVolume(join(root, "rotate"));
  volume.write({ "tls.crt": leaves[0]!.cert, "tls.key": leaves[0]!.key });
  const { log, lines } = capture();
  const webhook = await start(volume, log);
  const agent = new Agent({ keepAlive: true, maxSockets: 8 });
  let done = 0;
  const failures: string[] = [];
  const seen = new Set<string>();
  let stop = false;
  // 8 keep-alive workers (connections that outlive the rotation) + 2 opening a connection per request.
  const worker = async (a: Agent | false): Promise<void> => {
    while (!stop) {
      try {
        const r = await post(webhook.port, ca.cert, "/validate", body, a);
        const ok =
          r.status === 200 && (JSON.parse(r.body) as { response: { allowed: boolean } }).response.allowed;
        if (!ok) failures.push(`status ${r.status}: ${r.body.slice(0, 200)}`);
        seen.add(r.fingerprint);
        done++;
      } catch (err) {
        failures.push((err as Error).message);
      }
    }
  };
  const workers = [...Array.from({ length: 8 }, () => worker(agent)), worker(false), worker(false)];
  try {
    await until("load before rotation", () => done >= 200);
    volume.write({ "tls.crt": leaves[1]!.cert, "tls.key": leaves[1]!.key });
    await until("the new certificate on a new connection", () => seen.has(fp(leaves[1]!.cert)));
    const at = done;
    await until("load after rotation", () => done >= at + 200);
  } finally {
    stop = true;
    await Promise.all(workers);
    agent.destroy();
    await webhook.close();
  }
  assert.deepEqual(failures, []);
  assert.ok(done >= 400, `only ${done} requests ran`);
  assert.ok(
    lines.some((l) => l.msg === "serving certificate reloaded" && l.fingerprint === fp(leaves[1]!.cert)),
  );
});

test("a mismatched or half-written pair is refused and the old one kept; a good one then loads", async () => {
  const volume = new SecretVolume(join(root, "refuse"));
  volume.write({ "tls.crt": leaves[0]!.cert, "tls.key": leaves[0]!.key });
  const { log, lines } = capture();
  const webhook = await start(volume, log);
  const served = async () => (await post(webhook.port, ca.cert, "/validate", body, false)).fingerprint;
  try {
    volume.write({ "tls.crt": leaves[1]!.cert, "tls.key": leaves[2]!.key });
    await until("refusal of the mismatched pair", () =>
      lines.some(
        (l) =>
          l.msg === "serving certificate refused; keeping the previous one" &&
          /does not match/.test(String(l.error)),
      ),
    );
    assert.equal(await served(), fp(leaves[0]!.cert));
    assert.equal(await probe(webhook.probePort, "/readyz"), 200);

    volume.write({ "tls.crt": leaves[1]!.cert, "tls.key": leaves[1]!.key });
    await until("the good pair", async () => (await served()) === fp(leaves[1]!.cert));

    // A copy tool writing in place: the certificate cut in half.
    writeFileSync(volume.current("tls.crt"), leaves[2]!.cert.slice(0, 500));
    await until("refusal of the half-written certificate", () =>
      lines.some((l) => /certificate unreadable/.test(String(l.error))),
    );
    assert.equal(await served(), fp(leaves[1]!.cert));
    assert.ok(!JSON.stringify(lines).includes(leaves[2]!.key.split("\n")[1]!), "a key leaked into the log");
  } finally {
    await webhook.close();
  }
});

test("close (SIGTERM): unready at once, an in-flight request finishes, then nothing is accepted", async () => {
  const volume = new SecretVolume(join(root, "drain"));
  volume.write({ "tls.crt": leaves[0]!.cert, "tls.key": leaves[0]!.key });
  const webhook = await start(volume);
  const { port, probePort } = webhook;
  assert.equal(await probe(probePort, "/readyz"), 200);
  let readyzWhileDraining = 0;
  // `Expect: 100-continue`: the server answers "continue" once it has parsed the headers, so the
  // request is certainly in flight when close() begins; the body follows after.
  const answer = new Promise<{ status: number; body: string }>((resolve, reject) => {
    const req = request(
      {
        host: "127.0.0.1",
        port,
        path: "/mutate",
        method: "POST",
        ca: ca.cert,
        agent: false,
        headers: {
          "content-type": "application/json",
          "content-length": Buffer.byteLength(body),
          expect: "100-continue",
        },
      },
      (res) => {
        let text = "";
        res.on("data", (c: Buffer) => (text += c.toString()));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body: text }));
      },
    );
    req.on("error", reject);
    // The unfinished request keeps the server (and so the probe port) open: /readyz is seen
    // draining before the body is sent.
    req.on("continue", () => {
      void webhook.close();
      assert.equal(webhook.ready(), false);
      void probe(probePort, "/readyz").then((code) => {
        readyzWhileDraining = code;
        req.end(body);
      });
    });
    req.flushHeaders();
  });
  const r = await answer;
  assert.equal(readyzWhileDraining, 503);
  assert.equal(r.status, 200);
  assert.equal((JSON.parse(r.body) as { response: { patchType: string } }).response.patchType, "JSONPatch");
  await webhook.close();
  await assert.rejects(post(port, ca.cert, "/validate", body, false), /ECONNREFUSED/);
  assert.equal(await probe(probePort, "/readyz"), 0);
});
