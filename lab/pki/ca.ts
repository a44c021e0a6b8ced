// A throw-away certificate authority for the lab: the API stand-in serves with a certificate it
// signs, and tests sign their webhook servers' certificates with it (or with a second CA, to prove
// that a wrong caBundle is refused). Keys come from node:crypto because forge's pure-JS RSA key
// generation takes seconds; forge only builds and signs the X.509 structures.
import { generateKeyPairSync, randomBytes } from "node:crypto";
import { isIP } from "node:net";
import forge from "node-forge";

export interface KeyPair {
  /** PEM certificate */
  cert: string;
  /** PEM private key (PKCS#8) */
  key: string;
}

export interface LabCa extends KeyPair {
  /** Issue a serving certificate for the given DNS names and IP addresses. */
  issue(opts: { commonName: string; dnsNames?: string[]; ips?: string[]; validDays?: number }): KeyPair;
}

function newKeys(): { privatePem: string; publicPem: string } {
  const { privateKey, publicKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
  return {
    privatePem: privateKey.export({ type: "pkcs8", format: "pem" }).toString(),
    publicPem: publicKey.export({ type: "spki", format: "pem" }).toString(),
  };
}

// Positive serial of 16 random bytes: a fixed serial makes browsers and Go refuse re-issued certs.
function serial(): string {
  const bytes = randomBytes(16);
  bytes[0] = (bytes[0] ?? 0) & 0x7f;
  return bytes.toString("hex");
}

function validity(cert: forge.pki.Certificate, days: number): void {
  // Back-date five minutes so a client whose clock runs a little behind still accepts it.
  const now = Date.now();
  cert.validity.notBefore = new Date(now - 5 * 60_000);
  cert.validity.notAfter = new Date(now + days * 86_400_000);
}

export function createCa(commonName = "kube-nftlb lab CA", validDays = 30): LabCa {
  const keys = newKeys();
  const caKey = forge.pki.privateKeyFromPem(keys.privatePem);
  const caCert = forge.pki.createCertificate();
  caCert.publicKey = forge.pki.publicKeyFromPem(keys.publicPem);
  caCert.serialNumber = serial();
  validity(caCert, validDays);
  const subject = [{ name: "commonName", value: commonName }];
  caCert.setSubject(subject);
  caCert.setIssuer(subject);
  caCert.setExtensions([
    { name: "basicConstraints", cA: true, critical: true },
    { name: "keyUsage", keyCertSign: true, cRLSign: true, digitalSignature: true, critical: true },
    { name: "subjectKeyIdentifier" },
  ]);
  caCert.sign(caKey, forge.md.sha256.create());

  const issue: LabCa["issue"] = ({
    commonName: cn,
    dnsNames = [],
    ips = [],
    validDays: days = validDays,
  }) => {
    const leafKeys = newKeys();
    const cert = forge.pki.createCertificate();
    cert.publicKey = forge.pki.publicKeyFromPem(leafKeys.publicPem);
    cert.serialNumber = serial();
    validity(cert, days);
    cert.setSubject([{ name: "commonName", value: cn }]);
    cert.setIssuer(caCert.subject.attributes);
    const altNames = [
      ...dnsNames.map((value) => ({ type: 2, value })),
      ...ips.filter((ip) => isIP(ip) !== 0).map((ip) => ({ type: 7, ip })),
    ];
    cert.setExtensions([
      { name: "basicConstraints", cA: false },
      { name: "keyUsage", digitalSignature: true, keyEncipherment: true, critical: true },
      { name: "extKeyUsage", serverAuth: true, clientAuth: true },
      { name: "subjectAltName", altNames },
    ]);
    cert.sign(caKey, forge.md.sha256.create());
    return { cert: forge.pki.certificateToPem(cert), key: leafKeys.privatePem };
  };

  return { cert: forge.pki.certificateToPem(caCert), key: keys.privatePem, issue };
}
