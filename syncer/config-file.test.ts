// --config FILE and the bind-address flags: values from the file, flags winning, and garbage in
// either failing the start with the key or flag named.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { parseBindAddress, parseSyncerArgs } from "./config.ts";

const FILES: Record<string, string> = {
  "/key": "k3y-0123456789abcdef\n",
  "/ok.yaml": `apiVersion: kube-nftlb.io/v1alpha1
kind: SyncerConfiguration
nftlbUrl: http://127.0.0.1:5555
nftlbKeyFile: /key
proxyMode: alongside
resyncPeriod: 30s
healthzBindAddress: "[::]:10256"
metricsBindAddress: 127.0.0.1:9000
healthzTimeout: 2m
`,
  "/empty.yaml": "",
};
const read = (f: string) => {
  const v = FILES[f];
  if (v === undefined) throw Object.assign(new Error("nope"), { code: "ENOENT" });
  return v;
};
const withFile = (text: string, extra: string[] = []) => {
  FILES["/t.yaml"] = text;
  return parseSyncerArgs(["--config", "/t.yaml", "--node-name", "n1", ...extra], read);
};
const error = (r: ReturnType<typeof parseSyncerArgs>) =>
  r.ok === false ? r.error : `ok: ${JSON.stringify(r)}`;

describe("--config", () => {
  it("takes every setting from the file", () => {
    const r = parseSyncerArgs(["--config", "/ok.yaml", "--node-name", "n1"], read);
    assert.ok(r.ok === true, error(r));
    assert.equal(r.config.nftlbKey, "k3y-0123456789abcdef");
    assert.equal(r.config.proxyMode, "alongside");
    assert.equal(r.config.resyncMs, 30_000);
    assert.deepEqual(r.config.healthzBindAddress, { host: "::", port: 10256 });
    assert.equal(r.config.metricsHost, "127.0.0.1");
    assert.equal(r.config.probePort, 9000);
    assert.equal(r.config.healthzTimeoutMs, 120_000);
  });

  it("flags win over the file", () => {
    const r = parseSyncerArgs(
      ["--config", "/ok.yaml", "--node-name", "n1", "--proxy-mode", "replace", "--healthz-bind-address", ""],
      read,
    );
    assert.ok(r.ok === true, error(r));
    assert.equal(r.config.proxyMode, "replace");
    assert.equal(r.config.healthzBindAddress, undefined);
  });

  it("an empty file is no settings", () => {
    FILES["/t.yaml"] = "";
    const r = parseSyncerArgs(
      [
        "--config",
        "/empty.yaml",
        "--node-name",
        "n1",
        "--nftlb-url",
        "http://127.0.0.1:1",
        "--nftlb-key-file",
        "/key",
      ],
      read,
    );
    assert.ok(r.ok === true, error(r));
  });

  const garbage: [string, string, RegExp][] = [
    ["unknown key", "nftlbUrl: http://x\nproxymode: replace\n", /unknown key "proxymode"/],
    ["the key itself is refused", "nftlbKey: hunter2\n", /unknown key "nftlbKey"/],
    ["number for a string", "proxyMode: 3\n", /proxyMode must be a string/],
    ["list for a string", "nodeName: [a, b]\n", /nodeName must be a string/],
    [
      "bad value names the key",
      "nftlbUrl: http://127.0.0.1:1\nnftlbKeyFile: /key\nproxyMode: sideways\n",
      /\/t\.yaml: proxyMode: --proxy-mode must be replace or alongside, got "sideways"/,
    ],
    [
      "bad duration",
      "nftlbUrl: http://127.0.0.1:1\nnftlbKeyFile: /key\nhealthzTimeout: soon\n",
      /healthzTimeout: --healthz-timeout must be a duration/,
    ],
    [
      "bad bind address",
      "nftlbUrl: http://127.0.0.1:1\nnftlbKeyFile: /key\nhealthzBindAddress: localhost:10256\n",
      /healthzBindAddress: --healthz-bind-address must be IP:port/,
    ],
    ["wrong kind", "kind: KubeProxyConfiguration\n", /kind must be SyncerConfiguration/],
    ["a list, not a mapping", "- a\n- b\n", /must be a mapping/],
    ["not YAML", "a: [\n", /is not valid YAML/],
    [
      "a secret-looking value is not echoed from an unknown key",
      "password: s3cr3t\n",
      /unknown key "password"/,
    ],
  ];
  for (const [name, text, want] of garbage)
    it(`garbage: ${name}`, () => {
      const e = error(withFile(text));
      assert.match(e, want);
      assert.doesNotMatch(e, /s3cr3t|hunter2/);
    });

  it("a missing file", () =>
    assert.match(error(parseSyncerArgs(["--config", "/nope"], read)), /cannot read --config \/nope: ENOENT/));
});

const REQUIRED = ["--nftlb-url", "http://127.0.0.1:1", "--nftlb-key-file", "/key", "--node-name", "n"];

describe("bind addresses", () => {
  const cases: [string, { host: string; port: number } | undefined][] = [
    ["0.0.0.0:10256", { host: "0.0.0.0", port: 10256 }],
    ["[::]:10256", { host: "::", port: 10256 }],
    ["[::1]:0", { host: "::1", port: 0 }],
    ["127.0.0.1:65536", undefined],
    ["::1:80", undefined],
    ["[127.0.0.1]:80", undefined],
    ["localhost:80", undefined],
    ["10.0.0.300:80", undefined],
    ["10.0.0.1", undefined],
    ["", undefined],
  ];
  for (const [raw, want] of cases)
    it(JSON.stringify(raw), () => assert.deepEqual(parseBindAddress(raw), want));

  it("--metrics-bind-address garbage is a usage error", () => {
    const r = parseSyncerArgs([...REQUIRED, "--metrics-bind-address", "*:1"], read);
    assert.match(error(r), /--metrics-bind-address must be IP:port/);
  });
  it("--probe-port still sets the metrics port", () => {
    const r = parseSyncerArgs([...REQUIRED, "--probe-port", "8081"], read);
    assert.ok(r.ok === true);
    assert.equal(r.config.probePort, 8081);
  });
});

describe("deploy/node/syncer.yaml (the DaemonSet's ConfigMap)", () => {
  it("is a valid settings file with kube-proxy's bind addresses", () => {
    const real = (f: string) => (f === "/key" ? "k3y-0123456789abcdef\n" : readFileSync(f, "utf8"));
    const file = new URL("../deploy/node/syncer.yaml", import.meta.url).pathname;
    const r = parseSyncerArgs(
      [
        "--config",
        file,
        "--nftlb-url",
        "http://127.0.0.1:5555",
        "--nftlb-key-file",
        "/key",
        "--node-name",
        "n",
      ],
      real,
    );
    assert.ok(r.ok === true, error(r));
    assert.equal(r.config.metricsHost, "127.0.0.1");
    assert.equal(r.config.probePort, 10249);
    assert.deepEqual(r.config.healthzBindAddress, { host: "0.0.0.0", port: 10256 });
  });
});
