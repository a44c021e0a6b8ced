// `kube-nftlb certs ensure` against lab's Kubernetes API stand-in: the real CLI process and
// client-node on the wire, kubectl to set up and read back. Time travel goes through ensure()
// with the same client-node stores and an injected clock.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { X509Certificate } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ensure, type EnsureRequest } from "../certs/ensure.ts";
import { renewalTime } from "../certs/renewal.ts";
import { readCert, type Cert } from "../certs/secret.ts";
import {
  CONFIG,
  ENSURE_ARGS,
  hasKubectl,
  NS,
  readBack,
  readState,
  SECRET,
  startLab,
  SVC,
  webhookConfigsYaml,
  type Lab,
  type Result,
  type State,
} from "./certs-lab.ts";

const MIN = 60_000;
const DAY = 86_400_000;
const kubectlMissing = hasKubectl() ? undefined : "kubectl binary not found";

function certOf(pem: string | undefined): Cert {
  const c = readCert(pem ?? "");
  assert.ok(!("error" in c), "a readable certificate");
  return c;
}

function assertConsistent(state: State): void {
  assert.equal(state.type, "kubernetes.io/tls");
  assert.deepEqual(Object.keys(state.files).sort(), ["ca.crt", "ca.key", "tls.crt", "tls.key"]);
  assert.equal(state.bundles.length, 2);
  for (const b of state.bundles) assert.equal(b, state.files["ca.crt"], "every caBundle equals ca.crt");
  const served = new X509Certificate(state.files["tls.crt"] ?? "");
  assert.equal(served.checkHost(`${SVC}.${NS}.svc`), `${SVC}.${NS}.svc`);
  const cas =
    (state.files["ca.crt"] ?? "").match(/-----BEGIN CERTIFICATE-----[^-]+-----END CERTIFICATE-----/g) ?? [];
  assert.ok(cas.some((pem) => served.verify(new X509Certificate(pem).publicKey)));
}

/** kubectl apply with base64 data: the stand-in takes neither protobuf (`kubectl create secret`) nor stringData. */
async function applySecret(l: Lab, name: string, type: string, files: Record<string, string>): Promise<void> {
  const data = Object.fromEntries(
    Object.entries(files).map(([k, v]) => [k, Buffer.from(v).toString("base64")]),
  );
  const doc = { apiVersion: "v1", kind: "Secret", type, metadata: { name, namespace: NS }, data };
  const r = await l.kubectl(["apply", "-f", "-"], JSON.stringify(doc));
  assert.equal(r.status, 0, r.stderr);
}

/** Every object's resourceVersion: equal before and after means nothing was written. */
async function snapshot(l: Lab): Promise<string> {
  const r = await l.kubectl([
    "get",
    "secrets,mutatingwebhookconfigurations,validatingwebhookconfigurations",
    "-A",
    "-o",
    "jsonpath={range .items[*]}{.kind}/{.metadata.name}@{.metadata.resourceVersion} {end}",
  ]);
  assert.equal(r.status, 0, r.stderr);
  return r.stdout;
}

/** `kube-nftlb certs ARGS` in this process, its console output captured. */
async function runHere(args: string[]): Promise<Result> {
  const { run } = await import("../cli/certs.ts");
  const out = { stdout: "", stderr: "" };
  const saved = { log: console.log, error: console.error };
  console.log = (m: string) => void (out.stdout += `${m}\n`);
  console.error = (m: string) => void (out.stderr += `${m}\n`);
  try {
    return { status: await run(args), ...out };
  } finally {
    Object.assign(console, saved);
  }
}

let lab: Lab;
before(async () => {
  if (kubectlMissing !== undefined) return;
  lab = await startLab(
    {},
    [
      webhookConfigsYaml(),
      webhookConfigsYaml(NS, SVC, "kube-nftlb-dry"),
      webhookConfigsYaml("nope", SVC, "kube-nftlb-nope"),
    ].join("---\n"),
  );
});
after(async () => {
  await lab?.stop();
});

test(
  "CLI: the first run creates everything, an immediate second run changes nothing",
  { skip: kubectlMissing },
  async () => {
    const first = await lab.cli(ENSURE_ARGS);
    assert.equal(first.status, 0, first.stderr);
    assert.match(first.stdout, /no Secret yet: creating the CA and the serving certificate/);
    assert.match(first.stdout, new RegExp(`Secret ${NS}/${SECRET} created`));
    assert.match(
      first.stdout,
      /MutatingWebhookConfiguration kube-nftlb: caBundle set in 1 webhook\(s\) \(mutate.kube-nftlb.io\)/,
    );
    assert.match(
      first.stdout,
      /ValidatingWebhookConfiguration kube-nftlb: caBundle set in 1 webhook\(s\) \(validate.kube-nftlb.io\)/,
    );
    assert.doesNotMatch(first.stdout + first.stderr, /PRIVATE KEY/);
    const state = await readBack(lab);
    assertConsistent(state);

    const second = await lab.cli(ENSURE_ARGS);
    assert.equal(second.status, 0, second.stderr);
    assert.match(second.stdout, /nothing to do/);
    assert.deepEqual((await readBack(lab)).resourceVersions, state.resourceVersions, "nothing was written");
  },
);

test("CLI --dry-run prints the plan and writes nothing", { skip: kubectlMissing }, async () => {
  const before = await snapshot(lab);
  const r = await lab.cli([
    "ensure",
    "-n",
    NS,
    "--service",
    SVC,
    "--secret",
    "dry-run",
    "--webhook",
    "kube-nftlb-dry",
    "--dry-run",
  ]);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /dry run: would create Secret kube-system\/dry-run/);
  assert.match(
    r.stdout,
    /dry run: would set the caBundle of 1 webhook\(s\) in ValidatingWebhookConfiguration kube-nftlb-dry/,
  );
  assert.equal(await snapshot(lab), before);
});

test(
  "CLI: bad input is refused with exit 1, a clear message, and nothing half-written",
  { skip: kubectlMissing },
  async () => {
    const tls = "kubernetes.io/tls";
    await applySecret(lab, "garbage", tls, {
      "tls.crt": "garbage",
      "tls.key": "garbage",
      "ca.crt": "garbage",
      "ca.key": "garbage",
    });
    await applySecret(lab, "no-ca-key", tls, {
      "tls.crt": "garbage",
      "tls.key": "garbage",
      "ca.crt": "garbage",
    });
    await applySecret(lab, "opaque", "Opaque", { password: "hunter2" });
    lab.api.faults.failRequests({ status: 500, forMs: 60_000, match: "/secrets/fails" });
    const args = (secret: string, more: string[] = []) => [
      "ensure",
      "-n",
      NS,
      "--service",
      SVC,
      "--secret",
      secret,
      "--webhook",
      CONFIG,
      ...more,
    ];
    const cases: [string, string[], RegExp][] = [
      [
        "a Secret with garbage in it",
        args("garbage"),
        /Secret kube-system\/garbage ca.crt holds no PEM certificate; refusing to touch it/,
      ],
      [
        "a missing webhook configuration",
        args("new", ["--webhook", "missing-one"]),
        /webhook configuration "missing-one" not found/,
      ],
      [
        "an API server answering 500",
        args("fails"),
        /Kubernetes API error: GET Secret kube-system\/fails: 500 Internal error occurred: injected/,
      ],
      [
        "a Secret without its CA key",
        args("no-ca-key"),
        /Secret kube-system\/no-ca-key lacks ca.key; refusing to touch it/,
      ],
      [
        "an Opaque Secret of that name",
        args("opaque"),
        /Secret kube-system\/opaque has type "Opaque", expected "kubernetes.io\/tls"/,
      ],
      [
        "a wrong namespace",
        ["ensure", "-n", "default", "--service", SVC, "--secret", "new", "--webhook", CONFIG],
        /calls Service kube-system\/kube-nftlb-webhook, but --namespace\/--service say default\/kube-nftlb-webhook/,
      ],
      [
        "a namespace that does not exist",
        ["ensure", "-n", "nope", "--service", SVC, "--secret", "new", "--webhook", "kube-nftlb-nope"],
        /cannot create Secret nope\/new: .*namespaces "nope" not found/,
      ],
    ];
    const before = await snapshot(lab);
    // Three as separate processes (exit status, stderr); the rest through the same `run` in this
    // process, one at a time, which spares the machine four client-node start-ups.
    const results = await Promise.all(cases.slice(0, 3).map(([, a]) => lab.cli(a)));
    for (const [, a] of cases.slice(3))
      results.push(await runHere([...a, "--kubeconfig", lab.api.kubeconfigPath]));
    for (const [i, [label, , message]] of cases.entries()) {
      const r = results[i];
      assert.ok(r);
      assert.equal(r.status, 1, `${label}: ${r.stdout}${r.stderr}`);
      assert.match(r.stderr, message, label);
      assert.doesNotMatch(r.stderr, /hunter2|PRIVATE KEY/, "Secret contents are not echoed");
    }
    assert.equal(await snapshot(lab), before, "nothing written");
  },
);

test("CLI: two runs at once converge on one CA", { skip: kubectlMissing }, async () => {
  const args = ["ensure", "-n", NS, "--service", SVC, "--secret", "raced", "--webhook", "kube-nftlb-dry"];
  const runs = await Promise.all([lab.cli(args), lab.cli(args)]);
  for (const r of runs) assert.equal(r.status, 0, r.stderr);
  assert.equal(
    runs.filter((r) => /Secret .* created/.test(r.stdout)).length,
    1,
    runs.map((r) => r.stdout).join("\n---\n"),
  );
  assertConsistent(await readBack(lab, "raced", "kube-nftlb-dry"));
  const again = await lab.cli(args);
  assert.match(again.stdout, /nothing to do/);
});

test(
  "time travel through the API: a serving renewal, then a CA rotation in three runs",
  { skip: kubectlMissing },
  async () => {
    const other = await startLab();
    try {
      const req: EnsureRequest = {
        namespace: NS,
        service: SVC,
        secretName: SECRET,
        webhookNames: [CONFIG],
        options: {
          caValidityMs: 300 * DAY,
          certValidityMs: 30 * DAY,
          renewBeforeFraction: 0.33,
          graceMs: 10 * MIN,
        },
        dryRun: false,
      };
      const at = async (now: number) => {
        const lines: string[] = [];
        const r = await ensure({ ...other.stores, clock: () => now, log: (l) => lines.push(l) }, req);
        assert.equal(r.ok, true, lines.join("\n"));
        const state = await readState(other);
        assertConsistent(state);
        return { lines: lines.join("\n"), state };
      };
      const T0 = Date.now();
      const created = await at(T0);
      const serving0 = created.state.files["tls.crt"];
      assert.match((await at(T0 + MIN)).lines, /nothing to do/);

      const renewal = await at(renewalTime(certOf(serving0), 0.33) + MIN);
      assert.match(renewal.lines, /renewing/);
      assert.notEqual(renewal.state.files["tls.crt"], serving0);
      assert.equal(renewal.state.files["ca.crt"], created.state.files["ca.crt"]);
      assert.deepEqual(
        renewal.state.resourceVersions.slice(1),
        created.state.resourceVersions.slice(1),
        "caBundles untouched",
      );

      const caDue = renewalTime(certOf(created.state.files["ca.crt"]), 0.33) + MIN;
      await at(caDue - DAY); // the 30-day serving certificate has long expired: reissued from the old CA
      const step1 = await at(caDue);
      assert.match(step1.lines, /CA rotation step 1/);
      assert.equal(step1.state.files["ca.crt"]?.match(/BEGIN CERTIFICATE/g)?.length, 2);
      const servedBefore = step1.state.files["tls.crt"];
      assert.match((await at(caDue + MIN)).lines, /step 2 waits until/);
      const step2 = await at(caDue + 11 * MIN);
      assert.match(step2.lines, /CA rotation step 2: issuing the serving certificate from the new CA/);
      assert.notEqual(
        new X509Certificate(step2.state.files["tls.crt"] ?? "").issuer,
        new X509Certificate(servedBefore ?? "").issuer,
      );
      assert.match((await at(caDue + 12 * MIN)).lines, /step 3 waits until/);
      const step3 = await at(caDue + 22 * MIN);
      assert.match(step3.lines, /CA rotation step 3: dropping 1 old CA/);
      assert.equal(step3.state.files["ca.crt"]?.match(/BEGIN CERTIFICATE/g)?.length, 1);
      assert.match((await at(caDue + 23 * MIN)).lines, /nothing to do/);
      assert.deepEqual((await readState(other)).resourceVersions, step3.state.resourceVersions);
    } finally {
      await other.stop();
    }
  },
);

test("CLI: usage errors exit 2 with the reason", async () => {
  const { run } = await import("../cli/certs.ts");
  const errors: string[] = [];
  const original = console.error;
  console.error = (m: string) => errors.push(m);
  try {
    const cases: [string[], RegExp][] = [
      [[], /no subcommand given/],
      [["rotate"], /unknown subcommand "rotate"/],
      [["ensure"], /missing --namespace, --service, --secret, --webhook/],
      [[...ENSURE_ARGS, "--ca-validity", "ten years"], /--ca-validity: invalid duration "ten years"/],
      [[...ENSURE_ARGS, "--cert-validity=-1h"], /--cert-validity: invalid duration/],
      [[...ENSURE_ARGS, "--propagation-grace", "0s"], /--propagation-grace: invalid duration/],
      [
        [...ENSURE_ARGS, "--renew-before-fraction", "1.5"],
        /--renew-before-fraction must be a number between 0 and 1/,
      ],
      [
        [...ENSURE_ARGS, "--renew-before-fraction", "abc"],
        /--renew-before-fraction must be a number between 0 and 1/,
      ],
      [
        ["ensure", "-n", "Kube_System", "--service", SVC, "--secret", SECRET, "--webhook", CONFIG],
        /--namespace "Kube_System" is not a valid Kubernetes name/,
      ],
      [
        ["ensure", "-n", NS, "--service", "a.b", "--secret", SECRET, "--webhook", CONFIG],
        /--service "a.b" is not a DNS label/,
      ],
      [
        ["ensure", "-n", NS, "--service", SVC, "--secret", SECRET, "--webhook", "a,,b"],
        /--webhook "" is not a valid Kubernetes name/,
      ],
      [
        [...ENSURE_ARGS, "--bogus"],
        /^kube-nftlb certs: unknown flag --bogus; run `kube-nftlb certs --help`$/,
      ],
    ];
    for (const [args, message] of cases) {
      errors.length = 0;
      assert.equal(await run(args), 2, args.join(" "));
      assert.match(errors.join("\n"), message);
      assert.equal(errors.length, 1, `one line, not the usage: ${errors.join("\n")}`);
    }
  } finally {
    console.error = original;
  }
});

test("CLI: a kubeconfig that is missing or garbage exits 1 with the reason", async () => {
  const dir = mkdtempSync(join(tmpdir(), "certs-kubeconfig-"));
  try {
    writeFileSync(join(dir, "garbage"), "clusters: [\n");
    const missing = await runHere([...ENSURE_ARGS, "--kubeconfig", join(dir, "missing")]);
    assert.equal(missing.status, 1);
    assert.match(missing.stderr, /cannot load kubeconfig .*missing: ENOENT/);
    const garbage = await runHere([...ENSURE_ARGS, "--kubeconfig", join(dir, "garbage")]);
    assert.equal(garbage.status, 1);
    assert.match(garbage.stderr, /cannot load kubeconfig .*garbage/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
