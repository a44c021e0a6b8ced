// The Secret is the single source of truth for the webhook's TLS material, and it carries the
// state of a CA rotation in the certificates themselves, so nothing can drift out of step:
//   tls.crt  the serving certificate          tls.key  its key
//   ca.crt   every CA the webhooks must trust (what goes into each caBundle), oldest first
//   ca.key   the key of the signing CA: the one certificate in ca.crt whose public key matches
// A CA in ca.crt other than the signing CA is an old one on its way out (see renewal.ts).
import { createPrivateKey, X509Certificate, type KeyObject } from "node:crypto";

export const SECRET_TYPE = "kubernetes.io/tls";
export const KEY = { cert: "tls.crt", key: "tls.key", bundle: "ca.crt", caKey: "ca.key" } as const;

/** What a store hands us: Kubernetes' wire shape, data base64-encoded. */
export interface RawSecret {
  apiVersion?: string;
  kind?: string;
  metadata?: {
    name?: string;
    namespace?: string;
    resourceVersion?: string;
    annotations?: Record<string, string>;
  };
  type?: string;
  data?: Record<string, string>;
}

export interface Cert {
  pem: string;
  x509: X509Certificate;
  notBefore: number;
  notAfter: number;
  fingerprint: string;
}

export interface Material {
  /** ca.crt, oldest first. */
  trusted: Cert[];
  signing: { cert: Cert; keyPem: string };
  /** The serving pair, or why it cannot be served (then it is reissued at once). */
  serving: { cert: Cert; keyPem: string } | { problem: string };
}

const PEM_CERT = /-----BEGIN CERTIFICATE-----\r?\n[A-Za-z0-9+/=\r\n]+-----END CERTIFICATE-----/g;
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

export function readCert(pem: string): Cert | { error: string } {
  try {
    const x509 = new X509Certificate(pem);
    return {
      pem: x509.toString(),
      x509,
      notBefore: x509.validFromDate.getTime(),
      notAfter: x509.validToDate.getTime(),
      fingerprint: x509.fingerprint256,
    };
  } catch (err) {
    return { error: `not a valid certificate (${(err as Error).message})` };
  }
}

/** Every certificate in a PEM bundle; anything but certificates and whitespace is an error. */
export function readBundle(text: string): Cert[] | { error: string } {
  const blocks = text.match(PEM_CERT) ?? [];
  if (blocks.length === 0) return { error: "holds no PEM certificate" };
  if (text.replace(PEM_CERT, "").trim() !== "") return { error: "holds text that is not a PEM certificate" };
  const certs: Cert[] = [];
  for (const [i, block] of blocks.entries()) {
    const c = readCert(block);
    if ("error" in c) return { error: `certificate #${i + 1} is ${c.error}` };
    certs.push(c);
  }
  return certs;
}

export function readKey(pem: string): KeyObject | { error: string } {
  try {
    const key = createPrivateKey(pem);
    return key.asymmetricKeyType === "rsa"
      ? key
      : { error: `is a ${key.asymmetricKeyType} key, expected RSA` };
  } catch {
    // Never echo the key or the parser's view of it.
    return { error: "is not a readable PEM private key" };
  }
}

/** Decoded text of each key, or the first malformed one. */
export function decodeData(
  data: Record<string, string> | undefined,
): Record<string, string> | { error: string } {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(data ?? {})) {
    if (typeof v !== "string" || v.length % 4 !== 0 || !BASE64.test(v))
      return { error: `data.${k} is not base64` };
    out[k] = Buffer.from(v, "base64").toString("utf8");
  }
  return out;
}

/**
 * Reads our material from a Secret. A broken CA part is an error (replacing it would stop the
 * API server trusting whatever is served now: a person must look); a broken serving pair is not
 * (it cannot be served as it is, so a fresh one from the CA costs nothing).
 */
export function readMaterial(secret: RawSecret, where: string): Material | { error: string } {
  const fail = (why: string) => ({
    error: `Secret ${where} ${why}; refusing to touch it (fix or delete it, or pass another --secret)`,
  });
  if (secret.type !== SECRET_TYPE) return fail(`has type "${secret.type ?? ""}", expected "${SECRET_TYPE}"`);
  const data = decodeData(secret.data);
  if ("error" in data) return fail(data.error);
  const bundleText = data[KEY.bundle];
  const caKeyText = data[KEY.caKey];
  if (bundleText === undefined || caKeyText === undefined) {
    return fail(`lacks ${bundleText === undefined ? KEY.bundle : KEY.caKey}`);
  }
  const trusted = readBundle(bundleText);
  if ("error" in trusted) return fail(`${KEY.bundle} ${trusted.error}`);
  const notCA = trusted.find((c) => !c.x509.ca);
  if (notCA) return fail(`${KEY.bundle} holds a certificate that is not a CA (${notCA.x509.subject})`);
  const caKey = readKey(caKeyText);
  if ("error" in caKey) return fail(`${KEY.caKey} ${caKey.error}`);
  const signing = trusted.find((c) => c.x509.checkPrivateKey(caKey));
  if (!signing) return fail(`${KEY.caKey} matches no certificate in ${KEY.bundle}`);
  return { trusted, signing: { cert: signing, keyPem: caKeyText }, serving: readServing(data, trusted) };
}

function readServing(data: Record<string, string>, trusted: Cert[]): Material["serving"] {
  const certText = data[KEY.cert];
  const keyText = data[KEY.key];
  if (certText === undefined || certText.trim() === "") return { problem: `${KEY.cert} is missing` };
  if (keyText === undefined || keyText.trim() === "") return { problem: `${KEY.key} is missing` };
  const certs = readBundle(certText);
  if ("error" in certs) return { problem: `${KEY.cert} ${certs.error}` };
  const cert = certs[0] as Cert;
  const key = readKey(keyText);
  if ("error" in key) return { problem: `${KEY.key} ${key.error}` };
  if (!cert.x509.checkPrivateKey(key)) return { problem: `${KEY.key} does not match ${KEY.cert}` };
  if (!trusted.some((ca) => issuedBy(cert, ca)))
    return { problem: `${KEY.cert} is not signed by any CA in ${KEY.bundle}` };
  return { cert, keyPem: keyText };
}

export function issuedBy(cert: Cert, ca: Cert): boolean {
  return cert.x509.checkIssued(ca.x509) && cert.x509.verify(ca.x509.publicKey);
}

export function encodeData(files: Record<string, string>): Record<string, string> {
  return Object.fromEntries(
    Object.entries(files).map(([k, v]) => [k, Buffer.from(v, "utf8").toString("base64")]),
  );
}
