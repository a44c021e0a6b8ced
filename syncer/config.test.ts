import { test } from "node:test";
import assert from "node:assert/strict";
import { HELP, ifaceMac, parsePeriod, parseSize, parseSyncerArgs } from "./config.ts";

const KEY = "s3cr3t-nftlb-key";
const readKey = (f: string) => {
  if (f === "/key") return `${KEY}\n`;
  if (f === "/empty") return "\n";
  if (f === "/two") return "a\nb\n";
  throw Object.assign(new Error(`ENOENT: ${f}`), { code: "ENOENT" });
};
// The node's interfaces as /sys/class/net/<iface>/address would give them.
const SYS: Record<string, string> = { eth0: "52:54:00:AB:cd:01\n", lo: "00:00:00:00:00:00\n", tun0: "\n" };
const readMac = (iface: string) => {
  const mac = SYS[iface];
  if (mac === undefined) throw Object.assign(new Error(`ENOENT: ${iface}`), { code: "ENOENT" });
  return mac;
};
const base = ["--nftlb-url", "http://127.0.0.1:5555", "--nftlb-key-file", "/key", "--node-name", "node-1"];

test("defaults", () => {
  const r = parseSyncerArgs(base, readKey);
  assert.ok(r.ok === true);
  assert.equal(r.config.nftlbKey, KEY);
  assert.equal(r.config.probePort, 10249);
  assert.equal(r.config.metricsHost, "127.0.0.1");
  assert.deepEqual(r.config.healthzBindAddress, { host: "0.0.0.0", port: 10256 });
  assert.equal(r.config.healthzTimeoutMs, 60_000);
  assert.equal(r.config.endpointsApi, "slices");
  assert.equal(r.config.proxyMode, "replace");
  assert.equal(r.config.resyncMs, 300_000);
  assert.equal(r.config.kubeconfig, undefined);
  assert.equal(r.config.nftlbMemoryBytes, undefined, "nftlb's memory estimated, not enforced");
});

test("--nftlb-memory-limit: Kubernetes quantities, as the downward API gives them (bytes)", () => {
  for (const [raw, bytes] of [
    ["335544320", 335_544_320],
    ["320Mi", 320 * 2 ** 20],
    ["2Gi", 2 * 2 ** 30],
    ["1G", 1e9],
    ["1.5Gi", 1.5 * 2 ** 30],
  ] as const) {
    const r = parseSyncerArgs([...base, "--nftlb-memory-limit", raw], readKey);
    assert.ok(r.ok === true, raw);
    assert.equal(r.config.nftlbMemoryBytes, bytes, raw);
  }
  for (const b of ["", "0", "-1Gi", "2GB", "1Mi", "lots", "1e9", "2Ti", " Mi"])
    assert.equal(parseSize(b), undefined, b);
});

test("every flag", () => {
  const r = parseSyncerArgs(
    [
      ...base,
      "--kubeconfig",
      "/kc",
      "--probe-port",
      "0",
      "--endpoints-api",
      "endpoints",
      "--proxy-mode",
      "alongside",
      "--resync-period",
      "30s",
      "--iface",
      "eth0",
      "--oface",
      "eth1",
    ],
    readKey,
    readMac,
  );
  assert.ok(r.ok === true);
  assert.deepEqual(
    [
      r.config.kubeconfig,
      r.config.probePort,
      r.config.endpointsApi,
      r.config.proxyMode,
      r.config.resyncMs,
      r.config.iface,
      r.config.ifaceMac,
      r.config.oface,
    ],
    ["/kc", 0, "endpoints", "alongside", 30_000, "eth0", "52:54:00:ab:cd:01", "eth1"],
  );
});

test("--help", () =>
  assert.deepEqual(parseSyncerArgs(["--help"], readKey), { ok: "exit", exit: { code: 0, out: HELP } }));

const bad: [string, string[], RegExp][] = [
  ["no url", ["--nftlb-key-file", "/key", "--node-name", "n"], /--nftlb-url is required/],
  ["garbage url", ["--nftlb-url", "::", "--nftlb-key-file", "/key", "--node-name", "n"], /not a URL/],
  ["https url", ["--nftlb-url", "https://x", "--nftlb-key-file", "/key", "--node-name", "n"], /must be http/],
  ["no key file", ["--nftlb-url", "http://x", "--node-name", "n"], /--nftlb-key-file is required/],
  [
    "missing key file",
    ["--nftlb-url", "http://x", "--nftlb-key-file", "/nope", "--node-name", "n"],
    /cannot read.*ENOENT/,
  ],
  ["empty key", ["--nftlb-url", "http://x", "--nftlb-key-file", "/empty", "--node-name", "n"], /is empty/],
  [
    "two-line key",
    ["--nftlb-url", "http://x", "--nftlb-key-file", "/two", "--node-name", "n"],
    /more than one line/,
  ],
  ["no node", ["--nftlb-url", "http://x", "--nftlb-key-file", "/key"], /--node-name is required/],
  ["bad port", [...base, "--probe-port", "99999"], /--probe-port/],
  ["bad api", [...base, "--endpoints-api", "slice"], /--endpoints-api must be slices or endpoints/],
  ["bad mode", [...base, "--proxy-mode", "both"], /--proxy-mode must be replace or alongside/],
  ["bad resync", [...base, "--resync-period", "soon"], /--resync-period/],
  ["bad level", [...base, "--log-level", "loud"], /--log-level/],
  [
    "bad memory limit",
    [...base, "--nftlb-memory-limit", "320MB"],
    /--nftlb-memory-limit must be a size like 512Mi/,
  ],
  ["tiny memory limit", [...base, "--nftlb-memory-limit", "1Ki"], /at least 16Mi/],
  ["--iface alone", [...base, "--iface", "eth0"], /--iface and --oface go together/],
  ["--oface alone", [...base, "--oface", "cni0"], /--iface and --oface go together/],
  ["empty --iface", [...base, "--iface", "", "--oface", "cni0"], /go together/],
  [
    "--iface not on this node",
    [...base, "--iface", "eth9", "--oface", "cni0"],
    /eth9.*ENOENT.*no such interface/,
  ],
  [
    "--iface as a path",
    [...base, "--iface", "../../etc/passwd", "--oface", "cni0"],
    /--iface: not an interface name/,
  ],
  ["--iface without a MAC (lo)", [...base, "--iface", "lo", "--oface", "cni0"], /lo has no Ethernet MAC/],
  [
    "--iface with an empty MAC file",
    [...base, "--iface", "tun0", "--oface", "cni0"],
    /tun0 has no Ethernet MAC/,
  ],
  [
    "--oface with a space",
    [...base, "--iface", "eth0", "--oface", "cni 0"],
    /--oface: not an interface name/,
  ],
];
for (const [name, argv, re] of bad) {
  test(`refuses ${name} with a clear error that never shows the key`, () => {
    const r = parseSyncerArgs(argv, readKey, readMac);
    assert.ok(r.ok === false, JSON.stringify(r));
    assert.match(r.error, re);
    assert.ok(!r.error.includes(KEY));
  });
}

// Garbage keys: too short to be a key (and to be told apart from ordinary words when the log is
// scrubbed of it), or holding what an HTTP header cannot carry as nftlb reads it.
const garbageKeys: [string, string, RegExp][] = [
  ["spaces only", "   \n", /is empty/],
  ["one letter", "k\n", /shorter than 16 characters/],
  ["one letter in spaces", "  k  \n", /shorter than 16 characters/],
  ["15 characters", "0123456789abcde\n", /shorter than 16 characters/],
  ["regex metacharacters, 15", ".*+?^${}()|[]\\/\n", /shorter than 16 characters/],
  ["a tab inside", "0123456789\tabcdefgh\n", /a control or non-ASCII character/],
  ["non-ASCII", "ключ-ключ-ключ-ключ\n", /a control or non-ASCII character/],
  ["a NUL", "0123456789abcdef\0\n", /a control or non-ASCII character/],
];
for (const [name, content, re] of garbageKeys) {
  test(`refuses a key file holding ${name}, naming the flag and file, never the key`, () => {
    const argv = ["--nftlb-url", "http://x", "--nftlb-key-file", "/garbage", "--node-name", "n"];
    const r = parseSyncerArgs(argv, () => content);
    assert.ok(r.ok === false, name);
    assert.match(r.error, re);
    assert.match(r.error, /^--nftlb-key-file \/garbage /);
    const key = content.trim();
    assert.ok(key.length < 2 || !r.error.includes(key), r.error);
  });
}

test("a key of 16 characters or more is taken as it is, inner spaces and metacharacters too", () => {
  const argv = ["--nftlb-url", "http://x", "--nftlb-key-file", "/k", "--node-name", "n"];
  for (const key of ["0123456789abcdef", ".*+?^${}()|[]\\/-", "correct horse battery staple"]) {
    const r = parseSyncerArgs(argv, () => `  ${key}\n`);
    assert.ok(r.ok === true, key);
    assert.equal(r.config.nftlbKey, key);
  }
});

test("a flag it does not know, or an argument: one line from flags/, exit 2", () => {
  const hint = "; run `kube-nftlb syncer --help`";
  assert.deepEqual(parseSyncerArgs([...base, "--bogus"], readKey), {
    ok: "exit",
    exit: { code: 2, err: `kube-nftlb syncer: unknown flag --bogus${hint}` },
  });
  assert.deepEqual(parseSyncerArgs([...base, "extra"], readKey), {
    ok: "exit",
    exit: {
      code: 2,
      err: `kube-nftlb syncer: unexpected argument "extra" (this command takes flags only)${hint}`,
    },
  });
});

test("durations: Go's grammar (runtime/duration.ts), at most a day", () => {
  assert.equal(parsePeriod("5m"), 300_000);
  assert.equal(parsePeriod("1h"), 3_600_000);
  assert.equal(parsePeriod("250ms"), 250);
  assert.equal(parsePeriod("1m30s"), 90_000);
  for (const b of ["", "0", "90", "-1s", "5 minutes", "1e9", "2d", "100h", "24h1s"])
    assert.equal(parsePeriod(b), undefined, b);
});

test("ifaceMac reads this machine's /sys by default: lo has no Ethernet MAC", () => {
  const lo = ifaceMac("lo");
  assert.ok(!lo.ok);
  assert.match(lo.error, /lo has no Ethernet MAC/);
});

test("--defaults-file (and defaultsFile in --config): a valid file or a missing one is taken; an invalid one is a usage error", () => {
  const files: Record<string, string> = {
    "/defaults.yaml": "scheduler: symhash\n",
    "/bad.yaml": "scheduler: roundrobin\n",
    "/c.yaml": "defaultsFile: /defaults.yaml\n",
  };
  const read = (f: string) => files[f] ?? readKey(f);
  const ok = parseSyncerArgs([...base, "--defaults-file", "/defaults.yaml"], read);
  assert.ok(ok.ok === true);
  assert.equal(ok.config.defaultsFile, "/defaults.yaml");
  const later = parseSyncerArgs([...base, "--defaults-file", "/not-yet.yaml"], read);
  assert.ok(later.ok === true, "a ConfigMap not created yet: built-in defaults until it appears");
  assert.equal(later.config.defaultsFile, "/not-yet.yaml");
  const bad = parseSyncerArgs([...base, "--defaults-file", "/bad.yaml"], read);
  assert.ok(bad.ok === false);
  assert.match(bad.error, /^--defaults-file \/bad\.yaml: invalid defaults: scheduler/);
  const fromConfig = parseSyncerArgs([...base, "--config", "/c.yaml"], read);
  assert.ok(fromConfig.ok === true);
  assert.equal(fromConfig.config.defaultsFile, "/defaults.yaml");
  assert.match(HELP, /--defaults-file FILE/);
});
