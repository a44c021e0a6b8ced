// The decisive test: the webhook (webhook/, in-process) serves while lab's API stand-in calls it
// in a loop, verifying each fresh TLS handshake against the caBundle it holds at that moment, as
// kube-apiserver does. `certs ensure` renews the serving certificate and then rotates the CA; the
// Secret reaches the webhook's directory the way kubelet updates a mounted Secret (a new
// timestamped directory, then an atomic rename of the `..data` symlink). Zero calls may fail.
// A control run does the naive rotation (new CA and certificate at once) and must see failures,
// so the harness is known to notice a broken rotation.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { X509Certificate } from "node:crypto";
import {
  mkdirSync,
  mkdtempSync,
  readlinkSync,
  renameSync,
  rmSync,
  symlinkSync,
  writeFileSync,
  existsSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { connect } from "node:tls";
import { CoreV1Api } from "@kubernetes/client-node";
import { ensure, type EnsureRequest } from "../certs/ensure.ts";
import { loadKubeConfig } from "../kube/kubeconfig.ts";
import { createCA, issueServing } from "../certs/pki.ts";
import { renewalTime } from "../certs/renewal.ts";
import { readCert, type Cert } from "../certs/secret.ts";
import { createLogger } from "../runtime/index.ts";
import { startWebhook, type Webhook } from "../webhook/server.ts";
import { CONFIG, hasKubectl, NS, readState, SECRET, startLab, SVC, type Lab } from "./certs-lab.ts";
import { until } from "./until.ts";

const MIN = 60_000;
const skip = hasKubectl() ? undefined : "kubectl binary not found";

/** kubelet's AtomicWriter, in short: files into a new `..<timestamp>` dir, `..data` swapped by rename. */
function deliver(dir: string, files: Record<string, string>): void {
  const stamp = `..${new Date().toISOString().replace(/[-:.TZ]/g, "_")}${process.hrtime.bigint()}`;
  mkdirSync(join(dir, stamp));
  for (const [k, v] of Object.entries(files)) writeFileSync(join(dir, stamp, k), v, { mode: 0o600 });
  const old = existsSync(join(dir, "..data")) ? readlinkSync(join(dir, "..data")) : undefined;
  symlinkSync(stamp, join(dir, "..data_tmp"));
  renameSync(join(dir, "..data_tmp"), join(dir, "..data"));
  for (const k of Object.keys(files))
    if (!existsSync(join(dir, k))) symlinkSync(join("..data", k), join(dir, k));
  if (old !== undefined) rmSync(join(dir, old), { recursive: true, force: true });
}

/** The fingerprint of the certificate the webhook presents to a new connection now. */
function served(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = connect(
      { host: "127.0.0.1", port, rejectUnauthorized: false, servername: `${SVC}.${NS}.svc` },
      () => {
        const fp = s.getPeerCertificate().fingerprint256;
        s.destroy();
        resolve(fp);
      },
    );
    s.on("error", reject);
  });
}

function certOf(pem: string | undefined): Cert {
  const c = readCert(pem ?? "");
  assert.ok(!("error" in c));
  return c;
}

interface Loop {
  calls: number;
  failures: string[];
  stop(): Promise<void>;
}

/** Creates Services (dry run: nothing stored) back to back; each one is a mutating and a validating call. */
function admissionLoop(lab: Lab): Loop {
  const loaded = loadKubeConfig(lab.api.kubeconfigPath);
  if (!loaded.ok) throw new Error(loaded.error);
  const core = loaded.kc.makeApiClient(CoreV1Api);
  const state = { calls: 0, failures: [] as string[], running: true };
  const body = { metadata: { generateName: "probe-" }, spec: { ports: [{ port: 80 }] } };
  const done = (async () => {
    while (state.running) {
      try {
        await core.createNamespacedService({ namespace: "default", body, dryRun: "All" });
      } catch (err) {
        const text = (err as Error).message;
        state.failures.push((/failed to verify certificate: [^"\\]*/.exec(text)?.[0] ?? text).slice(0, 300));
      }
      state.calls += 2;
    }
  })();
  return {
    get calls() {
      return state.calls;
    },
    get failures() {
      return state.failures;
    },
    stop: async () => {
      state.running = false;
      await done;
    },
  };
}

let lab: Lab;
let webhook: Webhook | undefined;
let dir: string;
let port = 0;

before(async () => {
  if (skip !== undefined) return;
  dir = mkdtempSync(join(tmpdir(), "certs-rotation-"));
  lab = await startLab({
    // A fresh handshake per call: every call is verified against the caBundle of its moment
    // (kube-apiserver reuses connections, which would hide a certificate it cannot verify).
    resolveService: (s) =>
      s.name === SVC && s.namespace === NS && port > 0
        ? { url: `https://127.0.0.1:${port}`, fresh: true }
        : undefined,
  });
});
after(async () => {
  await webhook?.close();
  await lab?.stop();
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
});

// Real TLS checks happen at real time, so the clock only travels forward within the 5-minute
// backdate: with a 9-minute CA and 6-minute certificates, the serving renewal comes ~2.4 minutes
// in and the whole CA rotation between ~4.4 and ~4.8 minutes, so every certificate ever served is
// valid at the real time it is served (notBefore = issue time - 5 min <= now <= notAfter).
test(
  "serving renewal and CA rotation while the API server calls the webhook: zero failed calls",
  { skip },
  async (t) => {
    const req: EnsureRequest = {
      namespace: NS,
      service: SVC,
      secretName: SECRET,
      webhookNames: [CONFIG],
      options: { caValidityMs: 9 * MIN, certValidityMs: 6 * MIN, renewBeforeFraction: 0.33, graceMs: 10_000 },
      dryRun: false,
    };
    const volume = join(dir, "volume");
    mkdirSync(volume);
    const T0 = Date.now();
    /** One `certs ensure` run at `now`, then kubelet's delivery, then until the webhook serves it. */
    const step = async (now: number, expect: RegExp) => {
      assert.ok(now < T0 + 5 * MIN, "stays within the backdate, so what is issued is valid in real time");
      const lines: string[] = [];
      const r = await ensure({ ...lab.stores, clock: () => now, log: (l) => lines.push(l) }, req);
      assert.equal(r.ok, true, lines.join("\n"));
      assert.match(lines.join("\n"), expect);
      const { files } = await readState(lab);
      deliver(volume, {
        "tls.crt": files["tls.crt"] ?? "",
        "tls.key": files["tls.key"] ?? "",
        "ca.crt": files["ca.crt"] ?? "",
      });
      const want = new X509Certificate(files["tls.crt"] ?? "").fingerprint256;
      if (webhook !== undefined) {
        await until(
          "the webhook to serve the delivered certificate",
          async () => (await served(webhook?.port ?? 0)) === want,
        );
      }
      return files;
    };
    /** Let the API server make at least `n` more calls against what is published now. */
    const calls = (loop: Loop, n: number) => {
      const target = loop.calls + n;
      return until(`${n} admission calls`, () => loop.calls >= target, 30_000);
    };
    const madeAt = (pem: string | undefined) => certOf(pem).notBefore + 5 * MIN;

    const created = await step(T0, /no Secret yet/);
    webhook = await startWebhook({
      tlsCert: join(volume, "tls.crt"),
      tlsKey: join(volume, "tls.key"),
      port: 0,
      probePort: 0,
      host: "127.0.0.1",
      log: createLogger({ name: "webhook", level: "warn" }),
      certificatePollMs: 200,
    });
    port = webhook.port;
    const loop = admissionLoop(lab);
    try {
      await calls(loop, 20);
      assert.deepEqual(loop.failures, [], "calls succeed before any rotation");

      const renewed = await step(renewalTime(certOf(created["tls.crt"]), 0.33) + 1000, /renewing/);
      assert.equal(renewed["ca.crt"], created["ca.crt"]);
      await calls(loop, 20);
      const s1 = await step(renewalTime(certOf(created["ca.crt"]), 0.33) + 1000, /CA rotation step 1/);
      assert.equal(s1["tls.crt"], renewed["tls.crt"]);
      await calls(loop, 20);
      const newCA = (s1["ca.crt"] ?? "").split(/(?=-----BEGIN CERTIFICATE-----)/)[1];
      const s2 = await step(madeAt(newCA) + 11_000, /CA rotation step 2/);
      assert.notEqual(
        new X509Certificate(s2["tls.crt"] ?? "").issuer,
        new X509Certificate(s1["tls.crt"] ?? "").issuer,
      );
      await calls(loop, 20);
      const s3 = await step(madeAt(s2["tls.crt"]) + 11_000, /CA rotation step 3/);
      assert.equal(s3["ca.crt"]?.match(/BEGIN CERTIFICATE/g)?.length, 1);
      await calls(loop, 20);
    } finally {
      await loop.stop();
    }
    t.diagnostic(`admission calls made during the rotations: ${loop.calls}, failed: ${loop.failures.length}`);
    console.log(`certs rotation: ${loop.calls} admission calls, ${loop.failures.length} failed`);
    assert.deepEqual(loop.failures, [], "no admission call failed");
    assert.ok(loop.calls >= 120);
  },
);

test(
  "control: a naive rotation (new CA and certificate at once) does fail calls, and the harness sees it",
  { skip },
  async (t) => {
    assert.ok(webhook, "runs after the rotation test, with its webhook");
    const volume = join(dir, "volume");
    const now = Date.now();
    const ca = createCA({ now, validityMs: 60 * MIN, commonName: "naive" });
    const leaf = issueServing({ now, validityMs: 60 * MIN, service: SVC, namespace: NS, ca });
    const loop = admissionLoop(lab);
    try {
      await until("calls", () => loop.calls >= 10);
      // caBundle first, certificate after: between the two, every call fails.
      for (const kind of ["MutatingWebhookConfiguration", "ValidatingWebhookConfiguration"] as const) {
        const cfg = await lab.stores.webhooks.get(kind, CONFIG);
        await lab.stores.webhooks.patchCaBundles(
          kind,
          CONFIG,
          (cfg?.webhooks ?? []).map((w, index) => ({
            index,
            name: w.name ?? "",
            caBundle: Buffer.from(ca.certPem).toString("base64"),
          })),
        );
      }
      await until("a failed call", () => loop.failures.length > 0);
      deliver(volume, { "tls.crt": leaf.certPem, "tls.key": leaf.keyPem });
      await until(
        "the new certificate served",
        async () => (await served(webhook?.port ?? 0)) === new X509Certificate(leaf.certPem).fingerprint256,
      );
    } finally {
      await loop.stop();
    }
    t.diagnostic(
      `naive rotation: ${loop.failures.length} of ${loop.calls} calls failed; first: ${loop.failures[0] ?? ""}`,
    );
    assert.ok(loop.failures.length > 0);
    assert.match(
      loop.failures[0] ?? "",
      /x509: certificate signed by unknown authority|failed calling webhook/,
    );
  },
);
