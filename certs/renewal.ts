// What a run should change, decided from plain data: now, what the Secret holds, what each
// webhook's caBundle holds. No I/O, no randomness; ensure.ts carries the plan out.
//
// A CA rotation takes three runs, each safe on its own whatever kubelet and the API servers
// have picked up so far, because the certificate being served always chains to every caBundle:
//   1. add a new CA to ca.crt (it becomes the signing CA); caBundles get old + new;
//   2. once every caBundle holds the new CA and `graceMs` has passed since they first did (the
//      Secret's PUBLISHED_ANNOTATION: a caBundle patch can fail after the Secret was written, and
//      a later run's patch starts the wait again), issue the serving certificate from the new CA;
//   3. once `graceMs` has passed since that certificate was issued (kubelet has delivered it
//      and the webhook reloaded), drop the old CA from ca.crt and every caBundle.
// Other times come from the certificates' own notBefore (+ the backdate), so they cannot drift.
import { BACKDATE_MS, servingNames } from "./pki.ts";
import { issuedBy, type Cert, type Material } from "./secret.ts";

export interface RenewalOptions {
  caValidityMs: number;
  certValidityMs: number;
  /** Renew when less than this fraction of a certificate's life is left. */
  renewBeforeFraction: number;
  /** How long a rotation step waits for Secret delivery and caBundle pickup before the next. */
  graceMs: number;
}

/** When ensure last saw every caBundle hold this CA, right after its own patches. */
export interface Published {
  fingerprint: string;
  at: number;
}

/** On the Secret: "<fingerprint> <time>", ensure's record of when the caBundles got the signing CA. */
export const PUBLISHED_ANNOTATION = "kube-nftlb.io/ca-bundles-complete-since";

export function readPublished(value: string | undefined): Published | undefined {
  const [fingerprint, time, ...rest] = (value ?? "").split(" ");
  const at = Date.parse(time ?? "");
  return fingerprint && rest.length === 0 && Number.isFinite(at) ? { fingerprint, at } : undefined;
}

export const formatPublished = (p: Published): string => `${p.fingerprint} ${iso(p.at)}`;

/**
 * The record after a run that left every caBundle equal to ca.crt (whose signing CA is `signing`):
 * a new time when some caBundle lacked that CA before the run, or the record names another CA,
 * else the old one.
 * Later than the real moment, never earlier: the grace it starts is never shorter than asked.
 */
export function nextPublished(
  prev: Published | undefined,
  signing: string,
  lacked: boolean,
  now: number,
): Published {
  return !lacked && prev?.fingerprint === signing ? prev : { fingerprint: signing, at: now };
}

export interface RenewalInput {
  now: number;
  /** The Secret's PUBLISHED_ANNOTATION, read. */
  published?: Published | undefined;
  /** undefined: there is no Secret yet. */
  material: Material | undefined;
  /** The fingerprints in each webhook's caBundle, one list per webhook. */
  bundles: string[][];
  service: string;
  namespace: string;
  options: RenewalOptions;
}

export interface Plan {
  /** Make a CA, add it to ca.crt and make it the signing CA. */
  newCA: boolean;
  /** Issue the serving certificate from the signing CA (the new one, if newCA). */
  newServing: boolean;
  /** Fingerprints of CAs to remove from ca.crt. */
  dropCAs: string[];
  /** Why each change is made, or why a due change waits. Never key material. */
  reasons: string[];
}

export const iso = (ms: number): string => new Date(ms).toISOString().replace(/\.000Z$/, "Z");

/** The moment a certificate enters its renewal window. */
export function renewalTime(cert: Cert, fraction: number): number {
  return cert.notAfter - (cert.notAfter - cert.notBefore) * fraction;
}

/** When we made a certificate: its notBefore is backdated by BACKDATE_MS. */
const madeAt = (cert: Cert) => cert.notBefore + BACKDATE_MS;

function namesOf(cert: Cert): string[] {
  return (cert.x509.subjectAltName ?? "")
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s.startsWith("DNS:"))
    .map((s) => s.slice(4))
    .sort();
}

export function planRenewal(input: RenewalInput): Plan {
  const { now, material: m, options: o } = input;
  if (m === undefined) {
    return {
      newCA: true,
      newServing: true,
      dropCAs: [],
      reasons: ["no Secret yet: creating the CA and the serving certificate"],
    };
  }
  const plan: Plan = { newCA: false, newServing: false, dropCAs: [], reasons: [] };
  const signing = m.signing.cert;
  const everywhere = (ca: Cert) => input.bundles.every((b) => b.includes(ca.fingerprint));
  const unusable = servingProblem(input, m);

  if (now >= renewalTime(signing, o.renewBeforeFraction)) {
    plan.newCA = true;
    plan.reasons.push(
      `CA ${now >= signing.notAfter ? "expired" : "expires"} ${iso(signing.notAfter)} (renewal window from ${iso(renewalTime(signing, o.renewBeforeFraction))}): ` +
        "CA rotation step 1, adding a new CA to every caBundle",
    );
    if (unusable !== undefined) {
      plan.newServing = true;
      plan.reasons.push(`serving certificate unusable (${unusable}): issuing one from the new CA now`);
    }
    return plan;
  }

  if (unusable !== undefined) {
    plan.newServing = true;
    plan.reasons.push(`serving certificate unusable (${unusable}): issuing a new one`);
    return plan;
  }
  const serving = (m.serving as { cert: Cert }).cert;

  if (!issuedBy(serving, signing)) {
    // Rotation step 2: switch to the new CA once every API server can trust it: the grace counts
    // from when the caBundles got it, not from when it was made (their patch may have failed).
    const since = input.published?.fingerprint === signing.fingerprint ? input.published.at : undefined;
    const ready = Math.max(since ?? now, madeAt(signing)) + o.graceMs;
    if (!everywhere(signing)) {
      plan.reasons.push(
        "CA rotation step 2 waits: not every caBundle holds the new CA yet (updating them now)",
      );
    } else if (since === undefined) {
      plan.reasons.push(
        `CA rotation step 2 waits until ${iso(ready)}: when the caBundles got the new CA is not recorded, so the grace counts from now`,
      );
    } else if (now < ready) {
      plan.reasons.push(
        `CA rotation step 2 waits until ${iso(ready)} (grace after the new CA was published)`,
      );
    } else {
      plan.newServing = true;
      plan.reasons.push("CA rotation step 2: issuing the serving certificate from the new CA");
    }
    return plan;
  }

  const due = renewalTime(serving, o.renewBeforeFraction);
  if (now >= due) {
    if (everywhere(signing)) {
      plan.newServing = true;
      plan.reasons.push(
        `serving certificate expires ${iso(serving.notAfter)} (renewal window from ${iso(due)}): renewing`,
      );
    } else {
      plan.reasons.push(
        "serving certificate renewal waits: not every caBundle holds its CA yet (updating them now)",
      );
    }
    return plan;
  }

  const old = m.trusted.filter((c) => c.fingerprint !== signing.fingerprint);
  if (old.length > 0) {
    const ready = madeAt(serving) + o.graceMs;
    if (now < ready) {
      plan.reasons.push(
        `CA rotation step 3 waits until ${iso(ready)} (grace for the new serving certificate to reach every pod)`,
      );
    } else {
      plan.dropCAs = old.map((c) => c.fingerprint);
      plan.reasons.push(`CA rotation step 3: dropping ${old.length} old CA(s) from every caBundle`);
    }
  }
  return plan;
}

/** Why the current serving certificate cannot be served as it is, or undefined. */
function servingProblem(input: RenewalInput, m: Material): string | undefined {
  if ("problem" in m.serving) return m.serving.problem;
  const cert = m.serving.cert;
  if (input.now >= cert.notAfter) return `expired ${iso(cert.notAfter)}`;
  if (input.now < cert.notBefore) return `not valid before ${iso(cert.notBefore)}`;
  const issuer = m.trusted.find((ca) => issuedBy(cert, ca));
  if (issuer !== undefined && input.now >= issuer.notAfter) return `its CA expired ${iso(issuer.notAfter)}`;
  const want = servingNames(input.service, input.namespace).sort();
  const have = namesOf(cert);
  if (want.join(",") !== have.join(","))
    return `its names are ${have.join(" ") || "none"}, expected ${want.join(" ")}`;
  return undefined;
}
