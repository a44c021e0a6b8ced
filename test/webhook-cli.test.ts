// `kube-nftlb webhook` as a user runs it: flag errors, --help, and a real start → SIGTERM → exit 0.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { createServer, type AddressInfo } from "node:net";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  admissionReview,
  key,
  request as admission,
  service,
} from "../webhook/review-fixtures.test-helpers.ts";
import type { AdmissionReviewOut } from "../webhook/review.ts";
import { makeCa } from "./webhook-pki.ts";
import { post, SecretVolume, webhookProcess } from "./webhook-tls.ts";

const BIN = join(import.meta.dirname, "..", "bin", "kube-nftlb.js");
const dir = mkdtempSync(join(tmpdir(), `webhook-cli-${process.pid}-`));
after(() => rmSync(dir, { recursive: true, force: true }));

// The timeout only keeps a hung child from hanging the suite; a killed child fails the status checks.
const cli = (...args: string[]) =>
  spawnSync(process.execPath, [BIN, "webhook", ...args], { encoding: "utf8", timeout: 30_000 });

test("--help prints the usage with every flag and exits 0", () => {
  const r = cli("--help");
  assert.equal(r.status, 0);
  for (const flag of [
    "--tls-cert",
    "--tls-key",
    "--port",
    "--probe-port",
    "--defaults-file",
    "--proxy-mode",
    "--shutdown-delay",
  ]) {
    assert.ok(r.stdout.includes(flag), `--help does not mention ${flag}`);
  }
  assert.match(r.stdout, /^Usage: kube-nftlb webhook/);
});

writeFileSync(join(dir, "bad.yaml"), "scheduler: roundrobin\n");
writeFileSync(join(dir, "broken.yaml"), "scheduler: [\n");
writeFileSync(join(dir, "persist.yaml"), "persistence: srcip\n");

const usage: [string[], RegExp][] = [
  [[], /--tls-cert and --tls-key are required/],
  [["--tls-cert", "c"], /--tls-cert and --tls-key are required/],
  [["--tls-cert", "c", "--tls-key", "k", "--port", "http"], /--port must be a port number/],
  [["--tls-cert", "c", "--tls-key", "k", "--probe-port", "70000"], /--probe-port must be a port number/],
  [["--tls-cert", "c", "--tls-key", "k", "--shutdown-delay", "soon"], /--shutdown-delay must be/],
  [["--tls-cert", "c", "--tls-key", "k", "--log-level", "loud"], /--log-level must be one of/],
  [
    ["--tls-cert", "c", "--tls-key", "k", "--proxy-mode", "instead"],
    /--proxy-mode must be replace or alongside/,
  ],
  [
    ["--tls-cert", "c", "--tls-key", "k", "--bogus"],
    /^kube-nftlb webhook: unknown flag --bogus; run `kube-nftlb webhook --help`\n$/,
  ],
  [
    ["--tls-cert", "c", "--tls-key", "k", "--defaults-file", join(dir, "none.yaml")],
    /cannot read .*none.yaml: ENOENT/,
  ],
  [
    ["--tls-cert", "c", "--tls-key", "k", "--defaults-file", join(dir, "bad.yaml")],
    /invalid defaults: scheduler/,
  ],
  [["--tls-cert", "c", "--tls-key", "k", "--defaults-file", join(dir, "broken.yaml")], /is not valid YAML/],
  [["--tls-cert", "c", "--tls-key", "k", "--defaults-file", join(dir, "persist.yaml")], /persistence/],
];

for (const [args, message] of usage) {
  test(`usage error exits 2: ${args.join(" ") || "(no flags)"}`, () => {
    const r = cli(...args);
    assert.equal(r.status, 2);
    assert.match(r.stderr, message);
    assert.equal(r.stderr.trimEnd().split("\n").length, 1, `one line, not the usage: ${r.stderr}`);
    assert.equal(r.stdout, "");
  });
}

test("a port already taken exits 1 with a JSON log line saying so", async () => {
  const ca = makeCa();
  const leaf = ca.sign("cli");
  const volume = new SecretVolume(join(dir, "busy"));
  volume.write({ "tls.crt": leaf.cert, "tls.key": leaf.key });
  const taken = createServer();
  await new Promise<void>((resolve) => taken.listen(0, "127.0.0.1", resolve));
  const { port } = taken.address() as AddressInfo;
  try {
    const tls = ["--tls-cert", volume.certFile, "--tls-key", volume.keyFile];
    const r = cli(...tls, "--bind-address", "127.0.0.1", "--port", "0", "--probe-port", String(port));
    assert.equal(r.status, 1);
    assert.match(r.stdout, /"msg":"webhook could not start"/);
    assert.match(r.stdout, /EADDRINUSE/);
  } finally {
    taken.close();
  }
});

test("runs with --defaults-file, serves, and on SIGTERM drains and exits 0", async () => {
  const ca = makeCa();
  const leaf = ca.sign("cli");
  const volume = new SecretVolume(join(dir, "run"));
  volume.write({ "tls.crt": leaf.cert, "tls.key": leaf.key });
  writeFileSync(join(dir, "defaults.yaml"), "# cluster defaults\nscheduler: symhash\n");
  const webhook = await webhookProcess(volume, [
    "--shutdown-delay",
    "0",
    "--defaults-file",
    join(dir, "defaults.yaml"),
    "--log-level",
    "debug", // admitted reviews are logged at debug
  ]);
  const { child, exited } = webhook;
  try {
    const body = JSON.stringify(admissionReview(admission(service(), { uid: "cli" })));
    const r = await post(webhook.port, ca.cert, "/mutate", body, false);
    const review = JSON.parse(r.body) as AdmissionReviewOut;
    const ops = JSON.parse(Buffer.from(review.response.patch ?? "", "base64").toString()) as {
      value: Record<string, string>;
    }[];
    assert.equal(ops[0]?.value[key("scheduler")], "symhash");
    child.kill("SIGTERM");
    assert.equal(await exited, 0);
    assert.match(webhook.output(), /"msg":"webhook stopped"/);
    assert.match(webhook.output(), /"uid":"cli".*"verdict":"patched"/);
  } finally {
    child.kill("SIGKILL");
  }
});
