// Test certificates: a CA and serving certificates signed by it (node-forge signs, node:crypto
// makes the RSA keys because forge's pure-JS key generation is slow).
import { generateKeyPairSync, randomBytes } from "node:crypto";
import forge from "node-forge";

export interface Pem {
  cert: string;
  key: string;
}

function rsaKey(): { forgeKey: forge.pki.rsa.PrivateKey; publicKey: forge.pki.rsa.PublicKey; pem: string } {
  const { privateKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
  const pem = privateKey.export({ type: "pkcs8", format: "pem" }).toString();
  const forgeKey = forge.pki.privateKeyFromPem(pem);
  return { forgeKey, publicKey: forge.pki.setRsaPublicKey(forgeKey.n, forgeKey.e), pem };
}

function base(cn: string, publicKey: forge.pki.PublicKey): forge.pki.Certificate {
  const cert = forge.pki.createCertificate();
  cert.publicKey = publicKey;
  cert.serialNumber = "01" + randomBytes(15).toString("hex");
  cert.validity.notBefore = new Date(Date.now() - 5 * 60_000);
  cert.validity.notAfter = new Date(Date.now() + 24 * 3600_000);
  cert.setSubject([{ name: "commonName", value: cn }]);
  return cert;
}

export interface Ca extends Pem {
  sign(cn: string): Pem;
}

export function makeCa(cn = "kube-nftlb test CA"): Ca {
  const k = rsaKey();
  const ca = base(cn, k.publicKey);
  ca.setIssuer(ca.subject.attributes);
  ca.setExtensions([
    { name: "basicConstraints", cA: true, critical: true },
    { name: "keyUsage", keyCertSign: true, cRLSign: true, critical: true },
  ]);
  ca.sign(k.forgeKey, forge.md.sha256.create());
  return {
    cert: forge.pki.certificateToPem(ca),
    key: k.pem,
    sign(leafCn: string): Pem {
      const lk = rsaKey();
      const leaf = base(leafCn, lk.publicKey);
      leaf.setIssuer(ca.subject.attributes);
      leaf.setExtensions([
        { name: "basicConstraints", cA: false },
        { name: "keyUsage", digitalSignature: true, keyEncipherment: true, critical: true },
        { name: "extKeyUsage", serverAuth: true },
        {
          name: "subjectAltName",
          altNames: [
            { type: 2, value: "localhost" },
            { type: 2, value: "kube-nftlb-webhook.kube-nftlb.svc" },
            { type: 7, ip: "127.0.0.1" },
          ],
        },
      ]);
      leaf.sign(k.forgeKey, forge.md.sha256.create());
      return { cert: forge.pki.certificateToPem(leaf), key: lk.pem };
    },
  };
}
