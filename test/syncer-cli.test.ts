// `kube-nftlb syncer` as a user runs it: --help lists every flag and settings key; a settings
// file with garbage stops the start (exit 2) naming the key, never printing the nftlb key; a
// health port already taken stops it too (exit 1), saying which.
import { after, test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { FILE_KEYS } from "../syncer/config-file.ts";

const BIN = join(import.meta.dirname, "..", "bin", "kube-nftlb.js");
const dir = mkdtempSync(join(tmpdir(), `syncer-cli-${process.pid}-`));
after(() => rmSync(dir, { recursive: true, force: true }));
const KEY = "n0t-t0-be-pr1nted";
writeFileSync(join(dir, "key"), `${KEY}\n`);

// The timeout only keeps a hung child from hanging the suite; a killed child fails the checks.
const cli = (...args: string[]) =>
  spawnSync(process.execPath, [BIN, "syncer", ...args], { encoding: "utf8", timeout: 30_000 });
const withConfig = (name: string, text: string) => {
  writeFileSync(join(dir, name), text);
  return cli("--config", join(dir, name));
};

test("--help lists every flag and every settings key", () => {
  const r = cli("--help");
  assert.equal(r.status, 0);
  for (const [key, flag] of Object.entries(FILE_KEYS)) {
    assert.ok(r.stdout.includes(`--${flag}`), `--help does not mention --${flag}`);
    assert.ok(r.stdout.includes(key), `--help does not mention the key ${key}`);
  }
  assert.ok(r.stdout.includes("--config"));
});

const garbage: [string, string, RegExp][] = [
  ["unknown key", "nftlbUrl: http://127.0.0.1:1\nnodename: n\n", /unknown key "nodename"/],
  ["wrong type", "resyncPeriod: 5\n", /resyncPeriod must be a string/],
  [
    "bad value",
    `nftlbUrl: http://127.0.0.1:1\nnftlbKeyFile: ${join(dir, "key")}\nnodeName: n\nendpointsApi: pods\n`,
    /endpointsApi: --endpoints-api must be slices or endpoints, got "pods"/,
  ],
  ["not YAML", "{{{", /is not valid YAML/],
];
for (const [name, text, want] of garbage)
  test(`a settings file with garbage (${name}): exit 2, the key named`, () => {
    const r = withConfig(`${name.replace(/\W/g, "-")}.yaml`, text);
    assert.equal(r.status, 2, r.stderr);
    assert.match(r.stderr, want);
    assert.doesNotMatch(r.stderr + r.stdout, new RegExp(KEY));
  });

test("the health port already taken: exit 1 saying which address", async () => {
  const squatter = createServer();
  await new Promise<void>((r) => squatter.listen(0, "127.0.0.1", r));
  const port = (squatter.address() as AddressInfo).port;
  try {
    const kc = join(dir, "kubeconfig");
    writeFileSync(
      kc,
      "apiVersion: v1\nkind: Config\nclusters: [{name: c, cluster: {server: 'http://127.0.0.1:1'}}]\ncontexts: [{name: c, context: {cluster: c, user: u}}]\nusers: [{name: u, user: {}}]\ncurrent-context: c\n",
    );
    // spawnSync blocks this process, but the squatter's socket is bound, which is all it takes.
    const r = spawnSync(
      process.execPath,
      [
        BIN,
        "syncer",
        "--nftlb-url=http://127.0.0.1:1",
        `--nftlb-key-file=${join(dir, "key")}`,
        "--node-name=n",
        `--kubeconfig=${kc}`,
        "--metrics-bind-address=127.0.0.1:0",
        `--healthz-bind-address=127.0.0.1:${port}`,
      ],
      { encoding: "utf8", timeout: 30_000 },
    );
    assert.equal(r.status, 1);
    assert.match(r.stdout, new RegExp(`--healthz-bind-address 127\\.0\\.0\\.1:${port}: EADDRINUSE`));
    assert.doesNotMatch(r.stdout, new RegExp(KEY));
  } finally {
    squatter.close();
  }
});
