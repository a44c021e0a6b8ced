// The CA and serving certificate, checked the way their consumers will: Node's X509Certificate,
// the openssl binary, and the serial's DER bytes themselves (Go rejects a non-minimal serial).
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { createPrivateKey, X509Certificate } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { BACKDATE_MS, createCA, issueServing, newKey, newSerial, servingNames } from "../certs/pki.ts";

const HOUR = 3_600_000;
const NOW = Date.parse("2026-03-01T12:00:00Z");
const caKey = newKey();
const leafKey = newKey();
const ca = createCA({ now: NOW, validityMs: 87600 * HOUR, commonName: "test-ca", keyPem: caKey });
const leaf = issueServing({
  now: NOW,
  validityMs: 8760 * HOUR,
  service: "kube-nftlb",
  namespace: "kube-system",
  ca,
  keyPem: leafKey,
});

/** Reads one DER TLV at `at`: tag, the bytes of the content, and where the next TLV starts. */
function tlv(der: Buffer, at: number): { tag: number; content: Buffer; next: number } {
  const tag = der[at] as number;
  let len = der[at + 1] as number;
  let start = at + 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + (der[start + i] as number);
    start += n;
  }
  return { tag, content: der.subarray(start, start + len), next: start + len };
}

/** The serial INTEGER's content bytes, found by walking Certificate → tbsCertificate → [0] version → serial. */
function serialBytes(pem: string): Buffer {
  const der = new X509Certificate(pem).raw;
  const certificate = tlv(der, 0);
  const tbs = tlv(certificate.content, 0);
  let field = tlv(tbs.content, 0);
  if (field.tag === 0xa0) field = tlv(tbs.content, field.next);
  assert.equal(field.tag, 0x02, "serialNumber is an INTEGER");
  return field.content;
}

function assertMinimalPositive(bytes: Buffer, label: string): void {
  assert.ok(bytes.length >= 1 && bytes.length <= 20, `${label}: 1..20 bytes, got ${bytes.length}`);
  assert.ok(
    ((bytes[0] as number) & 0x80) === 0,
    `${label}: positive (high bit clear), got ${bytes.toString("hex")}`,
  );
  if (bytes.length > 1) {
    assert.ok(
      !(bytes[0] === 0x00 && ((bytes[1] as number) & 0x80) === 0),
      `${label}: no superfluous leading zero: ${bytes.toString("hex")}`,
    );
  }
  assert.ok(
    bytes.some((b) => b !== 0),
    `${label}: not zero`,
  );
}

test("the CA is a CA: basicConstraints CA, self-issued, valid from 5 minutes before now", () => {
  const x = new X509Certificate(ca.certPem);
  assert.equal(x.ca, true);
  assert.ok(x.checkIssued(x) && x.verify(x.publicKey));
  assert.equal(x.validFromDate.getTime(), NOW - BACKDATE_MS);
  assert.equal(x.validToDate.getTime(), NOW + 87600 * HOUR);
  assert.ok(x.checkPrivateKey(createPrivateKey(ca.keyPem)));
  const text = execFileSync("openssl", ["x509", "-noout", "-text"], { input: ca.certPem }).toString();
  assert.match(text, /Basic Constraints: critical\s+CA:TRUE/);
  assert.match(text, /Key Usage: critical\s+Certificate Sign, CRL Sign/);
  assert.match(text, /Subject Key Identifier/);
});

test("the serving certificate: issuer, names, signature, key, validity, usages", () => {
  const x = new X509Certificate(leaf.certPem);
  const c = new X509Certificate(ca.certPem);
  assert.equal(x.ca, false);
  assert.equal(x.issuer, c.subject);
  assert.ok(x.checkIssued(c));
  assert.ok(x.verify(c.publicKey));
  assert.ok(
    !x.verify(
      new X509Certificate(
        createCA({ now: NOW, validityMs: HOUR, commonName: "other", keyPem: leafKey }).certPem,
      ).publicKey,
    ),
  );
  assert.ok(x.checkPrivateKey(createPrivateKey(leaf.keyPem)));
  assert.ok(!x.checkPrivateKey(createPrivateKey(ca.keyPem)));
  for (const name of servingNames("kube-nftlb", "kube-system")) assert.equal(x.checkHost(name), name, name);
  assert.equal(x.checkHost("kube-nftlb.default.svc"), undefined);
  assert.equal(x.checkHost("evil.kube-nftlb.kube-system.svc"), undefined);
  assert.match(x.subject, /CN=kube-nftlb\.kube-system\.svc/);
  assert.equal(x.validFromDate.getTime(), NOW - BACKDATE_MS);
  assert.equal(x.validToDate.getTime(), NOW + 8760 * HOUR);
  assert.deepEqual(x.keyUsage, ["1.3.6.1.5.5.7.3.1"]); // Node reports extKeyUsage here: serverAuth only
  const text = execFileSync("openssl", ["x509", "-noout", "-text"], { input: leaf.certPem }).toString();
  assert.match(text, /Key Usage: critical\s+Digital Signature, Key Encipherment/);
  assert.match(text, /Extended Key Usage: \s*TLS Web Server Authentication/);
  const caSki = /Subject Key Identifier: \s*([0-9A-F:]+)/.exec(
    execFileSync("openssl", ["x509", "-noout", "-text"], { input: ca.certPem }).toString(),
  )?.[1];
  assert.ok(caSki);
  assert.match(text, new RegExp(`Authority Key Identifier: \\s*(keyid:)?${caSki}`));
});

test("the serving certificate never outlives its CA", () => {
  const shortCA = createCA({ now: NOW, validityMs: 10 * HOUR, commonName: "short", keyPem: caKey });
  const x = new X509Certificate(
    issueServing({
      now: NOW,
      validityMs: 8760 * HOUR,
      service: "s",
      namespace: "n",
      ca: shortCA,
      keyPem: leafKey,
    }).certPem,
  );
  assert.equal(x.validToDate.getTime(), new X509Certificate(shortCA.certPem).validToDate.getTime());
});

test("openssl verify accepts the chain for TLS server use, and rejects it under another CA", (t) => {
  if (spawnSync("openssl", ["version"]).status !== 0) {
    t.skip("openssl binary not found: cannot check the chain with OpenSSL");
    return;
  }
  const dir = mkdtempSync(join(tmpdir(), "certs-pki-"));
  try {
    const other = createCA({ now: NOW, validityMs: 87600 * HOUR, commonName: "other", keyPem: leafKey });
    writeFileSync(join(dir, "ca.crt"), ca.certPem);
    writeFileSync(join(dir, "other.crt"), other.certPem);
    writeFileSync(join(dir, "tls.crt"), leaf.certPem);
    const at = String(Math.floor(NOW / 1000) + 60);
    const ok = spawnSync("openssl", [
      "verify",
      "-attime",
      at,
      "-purpose",
      "sslserver",
      "-CAfile",
      join(dir, "ca.crt"),
      join(dir, "tls.crt"),
    ]);
    assert.equal(ok.status, 0, ok.stderr.toString());
    assert.match(ok.stdout.toString(), /tls\.crt: OK/);
    const bad = spawnSync("openssl", [
      "verify",
      "-attime",
      at,
      "-CAfile",
      join(dir, "other.crt"),
      join(dir, "tls.crt"),
    ]);
    assert.notEqual(bad.status, 0);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("serials are positive and DER-minimal in the encoded certificate, over many certificates", () => {
  const seen = new Set<string>();
  for (let i = 0; i < 64; i++) {
    const c =
      i % 2 === 0
        ? createCA({ now: NOW, validityMs: HOUR, commonName: `ca${i}`, keyPem: caKey })
        : issueServing({ now: NOW, validityMs: HOUR, service: "s", namespace: "n", ca, keyPem: leafKey });
    const bytes = serialBytes(c.certPem);
    assertMinimalPositive(bytes, `certificate ${i}`);
    seen.add(bytes.toString("hex"));
  }
  assert.equal(seen.size, 64, "serials are random, not reused");
});

test("the serial generator stays minimal for the random bytes that would break it", () => {
  const first = [0x00, 0x01, 0x7f, 0x80, 0xff];
  for (const b0 of first) {
    for (const b1 of [0x00, 0x7f, 0x80, 0xff]) {
      const raw = Buffer.alloc(16, 0);
      raw[0] = b0;
      raw[1] = b1;
      const hex = newSerial(raw);
      assertMinimalPositive(Buffer.from(hex, "hex"), `first bytes ${b0.toString(16)} ${b1.toString(16)}`);
      assert.equal(hex.length, 32);
    }
  }
});
