// One duration grammar (runtime/duration.ts, Go's as Kubernetes spells it): a string means the
// same, or is refused alike, in every flag that takes a duration — the syncer's three and the
// certs command's three (the latter through the real CLI).
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { join } from "node:path";
import { formatDuration, parseDuration } from "../runtime/duration.ts";
import { parseSyncerArgs } from "../syncer/config.ts";

const BIN = join(import.meta.dirname, "..", "bin", "kube-nftlb.js");
const VALID = ["1h30m", "90m", "2h45m10s", "1.5h", "250ms"];
const INVALID = ["90", "5 minutes", "1d", "-1s", "0"];

const syncer = (flag: string, value: string) => {
  const base = ["--nftlb-url", "http://127.0.0.1:5555", "--nftlb-key-file", "/key", "--node-name", "n"];
  return parseSyncerArgs([...base, `--${flag}=${value}`], () => "k3y-0123456789abcdef\n");
};
const SYNCER_FLAGS = {
  "resync-period": "resyncMs",
  "healthz-timeout": "healthzTimeoutMs",
  "nftlb-probe-period": "nftlbProbeMs",
} as const;

test("the syncer's duration flags read a string as runtime/duration.ts does", () => {
  for (const [flag, field] of Object.entries(SYNCER_FLAGS)) {
    for (const v of VALID) {
      const r = syncer(flag, v);
      assert.ok(r.ok === true, `--${flag} ${v}: ${JSON.stringify(r)}`);
      assert.equal(r.config[field], parseDuration(v), `--${flag} ${v}`);
    }
    for (const v of INVALID) {
      assert.equal(typeof parseDuration(v), "object", v);
      const r = syncer(flag, v);
      assert.ok(r.ok === false, `--${flag} ${v} is refused`);
    }
  }
});

/** `kube-nftlb certs ensure` up to its first API call: durations are parsed before any. */
const certs = (...flags: string[]): Promise<{ status: number | null; stderr: string }> =>
  new Promise((resolve) => {
    const args = [BIN, "certs", "ensure", "-n", "ns", "--service", "svc", "--secret", "s", "--webhook", "w"];
    execFile(
      process.execPath,
      [...args, "--kubeconfig", "/nonexistent/kubeconfig", ...flags],
      { encoding: "utf8", timeout: 30_000 },
      (err, _out, stderr) => resolve({ status: err === null ? 0 : (err.code as number | null), stderr }),
    );
  });

test("the certs command reads the same strings the same way", async () => {
  // A child process each, run together: a few strings that tell the grammars apart.
  const valid = ["1h30m", "1.5h", "250ms"];
  const invalid = ["90", "1d", "-1s"];
  // A --cert-validity above --ca-validity is noted with the value as parsed, before the API.
  const noted = valid.map((v) => certs("--ca-validity=1ms", `--cert-validity=${v}`));
  const refused = invalid.map((v) => certs(`--propagation-grace=${v}`));
  for (const [i, r] of (await Promise.all(noted)).entries()) {
    const ms = parseDuration(valid[i]!) as number;
    assert.equal(r.status, 1, r.stderr);
    assert.match(r.stderr, new RegExp(`--cert-validity ${formatDuration(ms)} exceeds`), valid[i]);
  }
  for (const [i, r] of (await Promise.all(refused)).entries()) {
    assert.equal(r.status, 2, `${invalid[i]}: ${r.stderr}`);
    assert.match(r.stderr, /--propagation-grace: invalid duration/);
  }
});
