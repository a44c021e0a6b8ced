// Carries out a plan's certificate work: the new contents of the Secret's four keys. Deterministic
// but for key generation (injected) and serials.
import { createCA, issueServing, type CertAndKey } from "./pki.ts";
import { iso, type Plan, type RenewalOptions } from "./renewal.ts";
import { KEY, type Material } from "./secret.ts";

export interface IssueInput {
  now: number;
  service: string;
  namespace: string;
  options: RenewalOptions;
  material: Material | undefined;
  plan: Plan;
  newKey: () => string;
}

/** tls.crt, tls.key, ca.crt, ca.key after the plan: the new CA is appended, dropped CAs removed. */
export function nextFiles(i: IssueInput): Record<string, string> {
  const { material: m, plan } = i;
  const trusted = (m?.trusted ?? []).filter((c) => !plan.dropCAs.includes(c.fingerprint)).map((c) => c.pem);
  let signing: CertAndKey | undefined = m && { certPem: m.signing.cert.pem, keyPem: m.signing.keyPem };
  if (plan.newCA || signing === undefined) {
    signing = createCA({
      now: i.now,
      validityMs: i.options.caValidityMs,
      commonName: `${i.service}-ca-${iso(i.now)}`,
      keyPem: i.newKey(),
    });
    trusted.push(signing.certPem);
  }
  let serving: CertAndKey;
  if (plan.newServing || m === undefined || "problem" in m.serving) {
    serving = issueServing({
      now: i.now,
      validityMs: i.options.certValidityMs,
      service: i.service,
      namespace: i.namespace,
      ca: signing,
      keyPem: i.newKey(),
    });
  } else {
    serving = { certPem: m.serving.cert.pem, keyPem: m.serving.keyPem };
  }
  return {
    [KEY.cert]: serving.certPem,
    [KEY.key]: serving.keyPem,
    [KEY.bundle]: trusted.join(""),
    [KEY.caKey]: signing.keyPem,
  };
}
