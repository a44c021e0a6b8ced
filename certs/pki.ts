// The CA and the webhook's serving certificate. Keys come from node:crypto (native RSA key
// generation takes tens of milliseconds; node-forge's pure-JS generator takes seconds for 2048
// bits); node-forge builds and signs the certificates, because node:crypto cannot.
import { createPrivateKey, generateKeyPairSync, randomBytes } from "node:crypto";
import forge from "node-forge";

/** Backdating notBefore absorbs clock skew between this machine, the API servers and nodes. */
export const BACKDATE_MS = 5 * 60_000;

export interface CertAndKey {
  certPem: string;
  /** PKCS#8 PEM ("PRIVATE KEY"). */
  keyPem: string;
}

/** A new RSA-2048 private key as PKCS#8 PEM. */
export function newKey(): string {
  return generateKeyPairSync("rsa", { modulusLength: 2048 }).privateKey.export({
    type: "pkcs8",
    format: "pem",
  }) as string;
}

/**
 * A random positive serial (16 bytes), DER-minimal as forge writes the hex bytes unchanged:
 * the first byte is 0x01..0x7f, so it needs no 0x00 sign byte and has none to spare. Go rejects a
 * superfluous leading zero ("x509: malformed serial number") and reads a high bit as negative.
 */
export function newSerial(bytes: Buffer = randomBytes(16)): string {
  const b = Buffer.from(bytes);
  b[0] = (b[0] ?? 0) & 0x7f;
  if (b[0] === 0) b[0] = 0x01;
  return b.toString("hex");
}

function forgeKeys(keyPem: string): {
  privateKey: forge.pki.rsa.PrivateKey;
  publicKey: forge.pki.rsa.PublicKey;
} {
  const pkcs1 = createPrivateKey(keyPem).export({ type: "pkcs1", format: "pem" }) as string;
  const privateKey = forge.pki.privateKeyFromPem(pkcs1);
  return { privateKey, publicKey: forge.pki.setRsaPublicKey(privateKey.n, privateKey.e) };
}

/** forge writes CRLF; Node and kubectl write LF. One spelling keeps ca.crt byte-stable across runs. */
function pem(cert: forge.pki.Certificate): string {
  return forge.pki.certificateToPem(cert).replace(/\r\n/g, "\n");
}

/** X.509 carries whole seconds; rounding here keeps our arithmetic equal to what is encoded. */
function seconds(ms: number): Date {
  return new Date(Math.floor(ms / 1000) * 1000);
}

export interface CAOptions {
  now: number;
  validityMs: number;
  commonName: string;
  keyPem?: string;
}

export function createCA(o: CAOptions): CertAndKey {
  const keyPem = o.keyPem ?? newKey();
  const { privateKey, publicKey } = forgeKeys(keyPem);
  const cert = forge.pki.createCertificate();
  cert.publicKey = publicKey;
  cert.serialNumber = newSerial();
  cert.validity.notBefore = seconds(o.now - BACKDATE_MS);
  cert.validity.notAfter = seconds(o.now + o.validityMs);
  const name = [
    { name: "organizationName", value: "kube-nftlb" },
    { name: "commonName", value: o.commonName },
  ];
  cert.setSubject(name);
  cert.setIssuer(name);
  cert.setExtensions([
    { name: "basicConstraints", cA: true, critical: true },
    { name: "keyUsage", keyCertSign: true, cRLSign: true, critical: true },
    { name: "subjectKeyIdentifier" },
  ]);
  cert.sign(privateKey, forge.md.sha256.create());
  return { certPem: pem(cert), keyPem };
}

/** The DNS names kube-apiserver may use for a Service-referenced webhook (it dials `<svc>.<ns>.svc`). */
export function servingNames(service: string, namespace: string): string[] {
  return [
    service,
    `${service}.${namespace}`,
    `${service}.${namespace}.svc`,
    `${service}.${namespace}.svc.cluster.local`,
  ];
}

export interface ServingOptions {
  now: number;
  validityMs: number;
  service: string;
  namespace: string;
  ca: CertAndKey;
  keyPem?: string;
}

export function issueServing(o: ServingOptions): CertAndKey {
  const keyPem = o.keyPem ?? newKey();
  const { publicKey } = forgeKeys(keyPem);
  const caCert = forge.pki.certificateFromPem(o.ca.certPem);
  const caKey = forgeKeys(o.ca.keyPem).privateKey;
  const cert = forge.pki.createCertificate();
  cert.publicKey = publicKey;
  cert.serialNumber = newSerial();
  cert.validity.notBefore = seconds(o.now - BACKDATE_MS);
  // Never outlive the CA: a chain with an expired issuer fails however fresh the leaf is.
  const caEnd = caCert.validity.notAfter.getTime();
  cert.validity.notAfter = seconds(Math.min(o.now + o.validityMs, caEnd));
  const names = servingNames(o.service, o.namespace);
  cert.setSubject([
    { name: "organizationName", value: "kube-nftlb" },
    { name: "commonName", value: names[2] ?? o.service },
  ]);
  cert.setIssuer(caCert.subject.attributes);
  const ski = caCert.getExtension("subjectKeyIdentifier") as { subjectKeyIdentifier?: string } | null;
  const caKeyId = ski?.subjectKeyIdentifier
    ? forge.util.hexToBytes(ski.subjectKeyIdentifier)
    : caCert.generateSubjectKeyIdentifier().getBytes();
  cert.setExtensions([
    { name: "basicConstraints", cA: false, critical: true },
    { name: "keyUsage", digitalSignature: true, keyEncipherment: true, critical: true },
    { name: "extKeyUsage", serverAuth: true },
    { name: "subjectAltName", altNames: names.map((value) => ({ type: 2, value })) },
    { name: "subjectKeyIdentifier" },
    // forge's `keyIdentifier: true` would use this certificate's own key: pass the CA's.
    { name: "authorityKeyIdentifier", keyIdentifier: caKeyId },
  ]);
  cert.sign(caKey, forge.md.sha256.create());
  return { certPem: pem(cert), keyPem };
}
