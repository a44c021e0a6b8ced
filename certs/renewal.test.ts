// Renewal decisions as table tests with an injected clock: no API, no files. Each "run" reads the
// Secret's files, plans, and issues exactly what ensure.ts would write.
import { test } from "node:test";
import assert from "node:assert/strict";
import { X509Certificate } from "node:crypto";
import { nextFiles } from "./issue.ts";
import { newKey } from "./pki.ts";
import {
  nextPublished,
  planRenewal,
  renewalTime,
  type Plan,
  type Published,
  type RenewalOptions,
} from "./renewal.ts";
import {
  encodeData,
  KEY,
  readBundle,
  readCert,
  type Cert,
  readMaterial,
  SECRET_TYPE,
  type Material,
} from "./secret.ts";

const MIN = 60_000;
const DAY = 86_400_000;
const T0 = Date.parse("2026-01-01T00:00:00Z");
const SVC = "kube-nftlb";
const NS = "kube-system";
const OPTS: RenewalOptions = {
  caValidityMs: 90 * DAY,
  certValidityMs: 90 * DAY,
  renewBeforeFraction: 0.33,
  graceMs: 10 * MIN,
};

type Files = Record<string, string>;

function material(files: Files): Material {
  const m = readMaterial({ type: SECRET_TYPE, data: encodeData(files) }, "test/secret");
  assert.ok(!("error" in m), "error" in m ? m.error : "");
  return m;
}

/** The fingerprints ca.crt holds: what ensure publishes to every caBundle. */
function published(files: Files | undefined): string[] {
  const certs = readBundle(files?.[KEY.bundle] ?? "");
  return "error" in certs ? [] : certs.map((c) => c.fingerprint);
}

/** The Secret's record of when every caBundle got its signing CA, kept beside its files. */
const records = new WeakMap<Files, Published>();

/**
 * One run at `now`: the plan, and the files afterwards. `bundles` (what the caBundles held before
 * the run) defaults to what the last run published; `patchFails` is a run whose Secret write
 * succeeded and whose caBundle patch did not (no record written). Otherwise, as ensure.ts does,
 * every caBundle then equals ca.crt and the record is renewed when one lacked the signing CA.
 */
function run(
  now: number,
  files: Files | undefined,
  opts = OPTS,
  bundles?: string[][],
  patchFails = false,
): { plan: Plan; files: Files | undefined } {
  const m = files === undefined ? undefined : material(files);
  const before = bundles ?? [published(files), published(files)];
  const prev = files === undefined ? undefined : records.get(files);
  const plan = planRenewal({
    now,
    published: prev,
    material: m,
    bundles: before,
    service: SVC,
    namespace: NS,
    options: opts,
  });
  const changes = plan.newCA || plan.newServing || plan.dropCAs.length > 0;
  const after = changes
    ? nextFiles({ now, service: SVC, namespace: NS, options: opts, material: m, plan, newKey })
    : files;
  if (after !== undefined && !patchFails) {
    const signing = material(after).signing.cert.fingerprint;
    records.set(
      after,
      nextPublished(
        prev,
        signing,
        before.some((b) => !b.includes(signing)),
        now,
      ),
    );
  } else if (after !== undefined && prev !== undefined) records.set(after, prev);
  return { plan, files: after };
}

function cert(pem: string | undefined): Cert {
  const c = readCert(pem ?? "");
  assert.ok(!("error" in c));
  return c;
}

const steps = (p: Plan) => ({ newCA: p.newCA, newServing: p.newServing, drop: p.dropCAs.length });
const NOTHING = { newCA: false, newServing: false, drop: 0 };
const issuer = (files: Files) => new X509Certificate(files[KEY.cert] ?? "").issuer;

test("no Secret: create everything; then a fresh Secret needs nothing", () => {
  const first = run(T0, undefined);
  assert.deepEqual(steps(first.plan), { newCA: true, newServing: true, drop: 0 });
  const second = run(T0 + MIN, first.files);
  assert.deepEqual(steps(second.plan), NOTHING);
  assert.deepEqual(second.plan.reasons, []);
  assert.equal(second.files, first.files);
});

test("time travel: the serving certificate is renewed in its last third, from the same CA", () => {
  const opts = { ...OPTS, caValidityMs: 3650 * DAY, certValidityMs: 30 * DAY };
  const created = run(T0, undefined, opts).files;
  const window =
    new X509Certificate(created?.[KEY.cert] ?? "").validToDate.getTime() - 0.33 * (30 * DAY + 5 * MIN);
  assert.deepEqual(steps(run(window - 2 * MIN, created, opts).plan), NOTHING);
  const renewed = run(window + 2 * MIN, created, opts);
  assert.deepEqual(steps(renewed.plan), { newCA: false, newServing: true, drop: 0 });
  assert.match(renewed.plan.reasons.join("\n"), /renewal window/);
  assert.ok(renewed.files && created);
  assert.notEqual(renewed.files[KEY.cert], created[KEY.cert]);
  assert.equal(renewed.files[KEY.bundle], created[KEY.bundle], "same CA, caBundle unchanged");
  assert.equal(renewed.files[KEY.caKey], created[KEY.caKey]);
  assert.deepEqual(steps(run(window + 3 * MIN, renewed.files, opts).plan), NOTHING);
});

test("a serving certificate for other names, with a wrong or missing key, or expired is reissued at once", () => {
  const long = { ...OPTS, caValidityMs: 900 * DAY };
  const files = run(T0, undefined, long).files as Files;
  const other = run(T0, undefined, long).files as Files;
  const cases: [string, Files, number, RegExp][] = [
    ["missing key", { ...files, [KEY.key]: "" }, T0, /tls.key is missing/],
    ["key of another certificate", { ...files, [KEY.key]: other[KEY.key] ?? "" }, T0, /does not match/],
    [
      "garbage key",
      { ...files, [KEY.key]: "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n" },
      T0,
      /not a readable PEM private key/,
    ],
    ["garbage certificate", { ...files, [KEY.cert]: "hello" }, T0, /holds no PEM certificate/],
    [
      "signed by a CA not in ca.crt",
      { ...files, [KEY.cert]: other[KEY.cert] ?? "", [KEY.key]: other[KEY.key] ?? "" },
      T0,
      /not signed by any CA/,
    ],
    ["expired", files, T0 + 91 * DAY, /expired/],
  ];
  for (const [label, f, now, why] of cases) {
    const { plan } = run(now, f, long);
    assert.equal(plan.newServing, true, label);
    assert.equal(plan.newCA, false, label);
    assert.match(plan.reasons.join("\n"), why, label);
  }
  // The names case proper: a valid pair for the wrong Service.
  const wrong = nextFiles({
    now: T0,
    service: "other",
    namespace: NS,
    options: OPTS,
    material: material(files),
    plan: { newCA: false, newServing: true, dropCAs: [], reasons: [] },
    newKey,
  });
  const { plan } = run(T0, wrong);
  assert.equal(plan.newServing, true);
  assert.match(plan.reasons.join("\n"), /names are other other.kube-system/);
});

test("time travel: a CA in its last third is rotated over three runs, each waiting for the last to propagate", () => {
  const created = run(T0, undefined).files as Files;
  const oldCA = published(created);
  const tCA = renewalTime(cert(created[KEY.bundle]), OPTS.renewBeforeFraction) + MIN;
  assert.deepEqual(steps(run(tCA - 2 * MIN, created).plan), NOTHING);

  // Step 1: a new CA joins ca.crt and becomes the signing CA; the served certificate stays.
  const s1 = run(tCA, created);
  assert.deepEqual(steps(s1.plan), { newCA: true, newServing: false, drop: 0 });
  const f1 = s1.files as Files;
  assert.equal(published(f1).length, 2);
  assert.equal(published(f1)[0], oldCA[0], "old CA kept, first");
  assert.equal(f1[KEY.cert], created[KEY.cert]);
  assert.notEqual(f1[KEY.caKey], created[KEY.caKey]);

  // Step 2 waits for the grace, and for every caBundle to hold the new CA.
  const early = run(tCA + 5 * MIN, f1);
  assert.deepEqual(steps(early.plan), NOTHING);
  assert.match(early.plan.reasons.join("\n"), /step 2 waits until/);
  const stale = run(tCA + 20 * MIN, { ...f1 }, OPTS, [published(f1), oldCA]);
  assert.deepEqual(steps(stale.plan), NOTHING);
  assert.match(stale.plan.reasons.join("\n"), /not every caBundle holds the new CA/);
  const s2 = run(tCA + 20 * MIN, f1);
  assert.deepEqual(steps(s2.plan), { newCA: false, newServing: true, drop: 0 });
  const f2 = s2.files as Files;
  assert.equal(published(f2).length, 2, "old CA still trusted while pods may serve the old certificate");
  assert.notEqual(issuer(f2), issuer(created));

  // Step 3 waits for the new certificate to reach the pods, then drops the old CA.
  const wait3 = run(tCA + 25 * MIN, f2);
  assert.deepEqual(steps(wait3.plan), NOTHING);
  assert.match(wait3.plan.reasons.join("\n"), /step 3 waits until/);
  const s3 = run(tCA + 40 * MIN, f2);
  assert.deepEqual(steps(s3.plan), { newCA: false, newServing: false, drop: 1 });
  const f3 = s3.files as Files;
  assert.deepEqual(published(f3), [published(f2)[1]]);
  assert.equal(f3[KEY.cert], f2[KEY.cert]);

  assert.deepEqual(steps(run(tCA + 41 * MIN, f3).plan), NOTHING);
});

test("a CA past its end with an expired serving certificate: new CA and certificate in one run", () => {
  const created = run(T0, undefined).files as Files;
  const { plan, files } = run(T0 + 100 * DAY, created);
  assert.deepEqual(steps(plan), { newCA: true, newServing: true, drop: 0 });
  assert.match(plan.reasons.join("\n"), /CA expired/);
  assert.notEqual(issuer(files as Files), "");
});

/**
 * Runs `certs ensure` every `everyMs` (and again a minute later) for `forMs`. Pods serve what the
 * Secret held `lagMs` ago (kubelet); the caBundles hold what the last run that could patch them
 * published (for `patchFailsMs` after each new CA the patches fail, the Secret write does not),
 * and an API server may still use the caBundle of `lagMs` ago. At every run, both the newest and
 * the lagging certificate must chain to both the current and the lagging caBundle, and be in date.
 */
function simulate(
  opts: RenewalOptions,
  everyMs: number,
  forMs: number,
  lagMs: number,
  patchFailsMs = 0,
): { rotations: number; renewals: number } {
  let files: Files | undefined;
  const history: { at: number; files: Files; bundle: string }[] = [];
  let bundle = "";
  let failUntil = -Infinity;
  let rotations = 0;
  let renewals = 0;
  for (let now = T0; now < T0 + forMs; now += everyMs) {
    for (const at of [now, now + MIN]) {
      const held = published({ [KEY.bundle]: bundle });
      const r = run(at, files, opts, [held, held], at < failUntil);
      if (r.plan.newCA) rotations++;
      if (r.plan.newCA && files !== undefined) {
        // A rotation (not the install): its patches fail from this run on, for patchFailsMs.
        failUntil = at + patchFailsMs;
        if (patchFailsMs > 0) records.delete(r.files!);
      }
      if (r.plan.newServing) renewals++;
      assert.ok(r.files !== undefined);
      const current = r.files;
      files = current;
      if (!(at < failUntil)) bundle = current[KEY.bundle] ?? "";
      history.push({ at, files: current, bundle });
      const lagging = history.findLast((h) => h.at <= at - lagMs) ?? history[history.length - 1]!;
      const when = new Date(at).toISOString();
      for (const trusted of [bundle, lagging.bundle]) {
        const cas = readBundle(trusted);
        assert.ok(!("error" in cas));
        for (const servedFrom of [current, lagging.files]) {
          const served = new X509Certificate(servedFrom[KEY.cert] ?? "");
          assert.ok(
            cas.some((ca) => served.checkIssued(ca.x509) && served.verify(ca.x509.publicKey)),
            `untrusted at ${when}`,
          );
          assert.ok(
            served.validToDate.getTime() > at && served.validFromDate.getTime() <= at,
            `out of date at ${when}`,
          );
        }
      }
    }
  }
  return { rotations, renewals };
}

test("400 days of daily runs (each run twice): the certificate served always chains to every caBundle", () => {
  const { rotations, renewals } = simulate(
    { ...OPTS, caValidityMs: 180 * DAY, certValidityMs: 30 * DAY },
    DAY,
    400 * DAY,
    5 * MIN,
  );
  assert.ok(rotations >= 3, `CA rotated ${rotations} times`);
  assert.ok(renewals >= 10, `serving certificate issued ${renewals} times`);
});

test("runs every 3 minutes with pods 5 minutes behind: the grace keeps every step safe", () => {
  const opts = { ...OPTS, caValidityMs: 6 * 60 * MIN, certValidityMs: 2 * 60 * MIN };
  const { rotations } = simulate(opts, 3 * MIN, 14 * 60 * MIN, 5 * MIN);
  assert.ok(rotations >= 2, `CA rotated ${rotations} times`);
  // The same schedule without the grace serves a certificate some caBundle does not trust.
  assert.throws(() => simulate({ ...opts, graceMs: 0 }, 3 * MIN, 14 * 60 * MIN, 5 * MIN), /untrusted at/);
});

test("caBundle patches failing for 15 minutes after each new CA: the grace counts from when they succeed", () => {
  const opts = { ...OPTS, caValidityMs: 6 * 60 * MIN, certValidityMs: 2 * 60 * MIN };
  const { rotations } = simulate(opts, 3 * MIN, 14 * 60 * MIN, 5 * MIN, 15 * MIN);
  assert.ok(rotations >= 2, `CA rotated ${rotations} times`);
});

test("a new CA made days ago whose caBundles are patched only now: step 2 waits the grace from now", () => {
  const created = run(T0, undefined).files as Files;
  const oldCA = published(created);
  const tCA = renewalTime(cert(created[KEY.bundle]), OPTS.renewBeforeFraction) + MIN;
  // Step 1 writes the Secret; its caBundle patch fails (the run ends in an error).
  const f1 = run(tCA, created, OPTS, undefined, true).files as Files;
  assert.equal(published(f1).length, 2);
  // Days later a run finds the caBundles without the new CA, and patches them.
  const later = tCA + 3 * DAY;
  const patching = run(later, f1, OPTS, [oldCA, oldCA]);
  assert.deepEqual(steps(patching.plan), NOTHING);
  assert.match(patching.plan.reasons.join("\n"), /not every caBundle holds the new CA/);
  // A minute later every caBundle holds it, but API servers may not have picked it up yet.
  const soon = run(later + MIN, f1);
  assert.deepEqual(steps(soon.plan), NOTHING);
  assert.match(soon.plan.reasons.join("\n"), /step 2 waits until 2026-.*T.*Z/);
  assert.deepEqual(steps(run(later + OPTS.graceMs + MIN, f1).plan), {
    newCA: false,
    newServing: true,
    drop: 0,
  });
});

test("a Secret without the record (written by an older version) mid-rotation: the grace counts from now", () => {
  const created = run(T0, undefined).files as Files;
  const tCA = renewalTime(cert(created[KEY.bundle]), OPTS.renewBeforeFraction) + MIN;
  const f1 = { ...(run(tCA, created).files as Files) }; // a copy: no record
  const first = run(tCA + DAY, f1);
  assert.deepEqual(steps(first.plan), NOTHING);
  assert.match(first.plan.reasons.join("\n"), /is not recorded, so the grace counts from now/);
  assert.deepEqual(steps(run(tCA + DAY + OPTS.graceMs, f1).plan), {
    newCA: false,
    newServing: true,
    drop: 0,
  });
});
