// `kube-nftlb render` as a user runs it: the real bin, real files, exit codes and output.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { validateFarms } from "../nftlb/validate.ts";
import type { FarmPatch } from "../nftlb/serialize.ts";
import { render as renderCommand } from "./render.ts";

const ROOT = join(import.meta.dirname, "..");
const BIN = join(ROOT, "bin", "kube-nftlb.js");
const EXAMPLES = join(ROOT, "examples", "render");
const NODE = ["--node-name", "node-a", "--node-ip", "192.168.1.10,fd01::10"];

/** The real bin in a child process: what a user runs. */
function renderBin(args: string[]) {
  const r = spawnSync(process.execPath, [BIN, "render", ...args], { encoding: "utf8", cwd: ROOT });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

/** The same command in this process (a child costs seconds on a busy machine). */
async function render(args: string[], input?: string | Buffer) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await renderCommand(args, {
    out: (l) => out.push(l + "\n"),
    err: (l) => err.push(l + "\n"),
    stdin: () => Promise.resolve(Buffer.from(input ?? "")),
  });
  return { code, out: out.join(""), err: err.join("") };
}

let dir: string;
const file = (name: string, content: string | Buffer) => {
  const p = join(dir, name);
  writeFileSync(p, content);
  return p;
};
before(() => (dir = mkdtempSync(join(tmpdir(), "render-"))));
after(() => rmSync(dir, { recursive: true, force: true }));

/** Every object has `name` first and every value is a string (nftlb ignores anything else). */
function assertNftlbShaped(value: unknown, path: string): void {
  if (Array.isArray(value)) return value.forEach((v, i) => assertNftlbShaped(v, `${path}[${i}]`));
  assert.ok(typeof value === "object" && value !== null, `${path} is an object`);
  const entries = Object.entries(value);
  assert.equal(entries[0]?.[0], "name", `${path}: name first`);
  for (const [k, v] of entries) {
    if (Array.isArray(v)) assertNftlbShaped(v, `${path}.${k}`);
    else assert.equal(typeof v, "string", `${path}.${k} is a string`);
  }
}

describe("kube-nftlb render on examples/render (the real bin)", () => {
  const r = renderBin([...NODE, EXAMPLES]);

  it("prints one POST body for an empty nftlb; stderr has only db's dnat warning", () => {
    assert.equal(r.code, 0, r.err);
    // db sets mode dnat on an externalIP with externalTrafficPolicy: Cluster (annotations/client-address.ts).
    assert.match(
      r.err,
      /^[^\n]*services\.yaml:62: warning: Service shop\/db: [^\n]*mode "dnat" does not masquerade[^\n]*\n$/,
    );
    const body = JSON.parse(r.out) as { farms: FarmPatch[] };
    assert.deepEqual(Object.keys(body), ["farms"]);
    assert.deepEqual(
      body.farms.map((f) => f.name),
      [
        "shop.db.5432",
        "shop.dns.dns",
        "shop.dns.dns-tcp",
        "shop.dns.dns-tcp.v6",
        "shop.dns.dns.v6",
        "shop.web.http",
        "shop.web.http.ext",
      ],
    );
  });

  it("farms match nftlb/types.ts: name first, strings only, backends up, no farm-level family", () => {
    const body = JSON.parse(r.out) as { farms: (FarmPatch & Record<string, unknown>)[] };
    assertNftlbShaped(body.farms, "farms");
    for (const f of body.farms) {
      assert.equal(f.family, undefined, "family/protocol shortcuts would create an empty default address");
      assert.ok((f.addresses ?? []).length > 0, `${f.name} has addresses`);
      for (const b of f.backends ?? []) assert.equal(b.state, "up");
    }
    assert.deepEqual(validateFarms(body.farms, new Map()), []);
  });

  it("traffic policy Local: the NodePort farm has node-a's Pod only", () => {
    const body = JSON.parse(r.out) as { farms: FarmPatch[] };
    const ext = body.farms.find((f) => f.name === "shop.web.http.ext");
    assert.deepEqual(
      ext?.backends?.map((b) => b.name),
      ["web-6d4b9-abcde"],
    );
    assert.equal(body.farms.find((f) => f.name === "shop.web.http")?.backends?.length, 2);
  });

  it("--endpoints-api endpoints reads the v1 Endpoints and prints the same bytes", () => {
    const v1 = renderBin([...NODE, "--endpoints-api", "endpoints", EXAMPLES]);
    assert.equal(v1.code, 0, v1.err);
    assert.equal(v1.out, r.out);
  });
});

describe("kube-nftlb render: problems", () => {
  const svc = (name: string, extra: string) => `apiVersion: v1
kind: Service
metadata:
  name: ${name}
  namespace: ns1
${extra}`;

  it("invalid annotations render with the defaults, the problem on stderr, exit 0", async () => {
    const p = file(
      "typo.yaml",
      svc(
        "web",
        `  annotations:
    service.kubernetes.io/kube-nftlb-load-balancer-scheduler: RR
spec:
  clusterIP: 10.96.0.1
  ports: [{ port: 80 }]`,
      ),
    );
    const r = await render([...NODE, p]);
    assert.equal(r.code, 0);
    assert.match(
      r.err,
      /typo\.yaml:7: error: Service ns1\/web: .*scheduler: invalid value "RR"; did you mean "rr"\?/,
    );
    assert.equal((JSON.parse(r.out) as { farms: FarmPatch[] }).farms[0]?.scheduler, "rr");
  });

  it("two Services claiming one externalIP:port: reported, the older keeps it", async () => {
    const spec = (ip: string, created: string) => `  creationTimestamp: "${created}"
spec:
  clusterIP: ${ip}
  externalIPs: [198.51.100.1]
  ports: [{ name: http, port: 80 }]`;
    const p = file(
      "conflict.yaml",
      `${svc("young", spec("10.96.0.2", "2024-06-01T00:00:00Z"))}\n---\n${svc("old", spec("10.96.0.1", "2024-01-01T00:00:00Z"))}`,
    );
    const r = await render([...NODE, p]);
    assert.equal(r.code, 0);
    assert.match(r.err, /claimed by Service ns1\/old .* and by Service ns1\/young/);
    const farms = (JSON.parse(r.out) as { farms: FarmPatch[] }).farms;
    assert.deepEqual(
      farms.map((f) => [f.name, f.addresses?.map((a) => a["ip-addr"])]),
      [
        ["ns1.old.http", ["10.96.0.1", "198.51.100.1"]],
        ["ns1.young.http", ["10.96.0.2"]],
      ],
    );
  });

  it("an unparseable manifest: exit 1, nothing printed", async () => {
    const r = await render([...NODE, file("broken.yaml", "kind: Service\nmetadata: [unclosed\n")]);
    assert.equal(r.code, 1);
    assert.equal(r.out, "");
    assert.match(r.err, /broken\.yaml:\d+: error: .*\nnothing rendered/);
  });

  it("a Service the schema refuses: exit 1", async () => {
    const r = await render([...NODE, file("bad-port.yaml", svc("web", "spec:\n  ports: [{ port: http }]"))]);
    assert.equal(r.code, 1);
    assert.match(r.err, /bad-port\.yaml:1: error: not a valid Service at spec\.ports\.0\.port/);
  });

  it("a binary file: exit 1", async () => {
    assert.equal((await render([...NODE, file("x.yaml", Buffer.from([0, 1, 2]))])).code, 1);
  });

  it("Endpoints but no EndpointSlices: a hint to use --endpoints-api endpoints", async () => {
    const r = await render([...NODE, join(EXAMPLES, "services.yaml"), join(EXAMPLES, "endpoints.yaml")]);
    assert.equal(r.code, 0);
    assert.match(r.err, /use --endpoints-api endpoints/);
  });

  it("stdin works", async () => {
    const r = await render(
      [...NODE, "-"],
      svc("web", "spec:\n  clusterIP: 10.96.0.1\n  ports: [{ port: 80 }]"),
    );
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /^\{"farms":\[\{"name":"ns1\.web\.80",/);
  });
});

describe("kube-nftlb render: usage", () => {
  it("--help: exit 0, usage on stdout", () => {
    const r = renderBin(["--help"]);
    assert.equal(r.code, 0);
    assert.match(r.out, /^Usage: kube-nftlb render --node-name NAME --node-ip IP\[,IP\]/);
  });
  const cases: [string, string[], RegExp][] = [
    ["no --node-name", ["--node-ip", "10.0.0.1", EXAMPLES], /--node-name is required/],
    ["no --node-ip", ["--node-name", "a", EXAMPLES], /--node-ip is required/],
    [
      "a bad --node-ip",
      ["--node-name", "a", "--node-ip", "10.0.0.1,nope", EXAMPLES],
      /not an IP address: "nope"/,
    ],
    [
      "a bad --endpoints-api",
      [...NODE, "--endpoints-api", "both", EXAMPLES],
      /must be "slices" or "endpoints"/,
    ],
    ["no PATH", NODE, /no PATH given/],
    [
      "an unknown flag",
      [...NODE, "--nodes", "x", EXAMPLES],
      /^kube-nftlb render: unknown flag --nodes; run `kube-nftlb render --help`$/m,
    ],
    ["a missing PATH", [...NODE, "/nonexistent/x.yaml"], /cannot read \/nonexistent\/x\.yaml: no such file/],
    ["--iface alone", [...NODE, "--iface", "eth0", EXAMPLES], /--iface and --oface go together/],
    ["--oface alone", [...NODE, "--oface", "cni0", EXAMPLES], /--iface and --oface go together/],
    [
      "--iface-mac alone",
      [...NODE, "--iface-mac", "52:54:00:12:34:56", EXAMPLES],
      /--iface-mac needs --iface/,
    ],
    [
      "a bad --iface-mac",
      [...NODE, "--iface", "eth0", "--oface", "cni0", "--iface-mac", "52:54:00:12:34", EXAMPLES],
      /--iface-mac: not a MAC/,
    ],
    [
      "the all-zero --iface-mac",
      [...NODE, "--iface", "eth0", "--oface", "cni0", "--iface-mac", "00:00:00:00:00:00", EXAMPLES],
      /--iface-mac: not a MAC/,
    ],
    [
      "an --iface that is a path",
      [...NODE, "--iface", "../x", "--oface", "cni0", "--iface-mac", "52:54:00:12:34:56", EXAMPLES],
      /--iface: not an interface name/,
    ],
    [
      "an --oface with a space",
      [...NODE, "--iface", "eth0", "--oface", "cni 0", "--iface-mac", "52:54:00:12:34:56", EXAMPLES],
      /--oface: not an interface name/,
    ],
    [
      "no --iface-mac and no such interface here",
      [...NODE, "--iface", "knlnone0", "--oface", "cni0", EXAMPLES],
      /knlnone0.*ENOENT.*give the node's MAC with --iface-mac/,
    ],
    [
      "no --iface-mac and an interface without a MAC here (lo)",
      [...NODE, "--iface", "lo", "--oface", "cni0", EXAMPLES],
      /lo has no Ethernet MAC.*--iface-mac/,
    ],
  ];
  for (const [name, args, message] of cases) {
    it(`${name}: exit 2`, async () => {
      const r = await render(args);
      assert.equal(r.code, 2);
      assert.match(r.err, message);
      assert.equal(r.err.trimEnd().split("\n").length, 1, `one line, not the usage: ${r.err}`);
      assert.equal(r.out, "");
    });
  }
});

describe("kube-nftlb render: a dsr Service", () => {
  const P = "service.kubernetes.io/kube-nftlb-load-balancer-";
  const manifest = () =>
    file(
      "dsr.yaml",
      `apiVersion: v1
kind: Service
metadata:
  name: web
  namespace: shop
  annotations:
    ${P}mode: dsr
    ${P}scheduler: hash-srcip-srcport
spec:
  clusterIP: 10.96.0.20
  clusterIPs: [10.96.0.20]
  ports: [{ name: http, port: 8080, targetPort: 8080, protocol: TCP }]
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: web-1
  namespace: shop
  labels: { kubernetes.io/service-name: web }
addressType: IPv4
ports: [{ name: http, port: 8080, protocol: TCP }]
endpoints:
  - addresses: [10.244.0.5]
    conditions: { ready: true }
`,
    );
  const farmOf = (out: string) => (JSON.parse(out) as { farms: FarmPatch[] }).farms[0]!;

  it("--iface-mac: the proven shape, in the byte order nftlb needs (mode after the backends)", async () => {
    const r = await render([
      ...NODE,
      "--iface",
      "eth0",
      "--oface",
      "cni0",
      "--iface-mac",
      "52:54:00:AB:CD:EF",
      manifest(),
    ]);
    assert.equal(r.code, 0, r.err);
    assert.equal(r.err.match(/error/g), null, r.err);
    const f = farmOf(r.out);
    assert.deepEqual(
      [
        f.mode,
        f.oface,
        f.iface,
        f.addresses?.[0]?.iface,
        f.addresses?.[0]?.["ether-addr"],
        f.backends?.[0]?.port,
      ],
      ["dsr", "cni0", undefined, "eth0", "52:54:00:ab:cd:ef", ""],
    );
    assert.match(r.out, /"backends":\[.*\],"mode":"dsr","oface":"cni0"\}/);
    assert.deepEqual(validateFarms([f], new Map()), []);
  });

  it("without --iface-mac the MAC is read from this machine's /sys/class/net/IFACE/address", async () => {
    const read: string[] = [];
    const err: string[] = [];
    const out: string[] = [];
    const code = await renderCommand([...NODE, "--iface", "eth0", "--oface", "cni0", manifest()], {
      out: (l) => out.push(l),
      err: (l) => err.push(l),
      stdin: () => Promise.resolve(Buffer.from("")),
      readMac: (iface) => (read.push(iface), "02:42:ac:11:00:02\n"),
    });
    assert.equal(code, 0, err.join("\n"));
    assert.deepEqual(read, ["eth0"]);
    assert.equal(farmOf(out.join("")).addresses?.[0]?.["ether-addr"], "02:42:ac:11:00:02");
  });

  it("without --iface/--oface: rendered in snat, with the reason on stderr", async () => {
    const r = await render([...NODE, manifest()]);
    assert.equal(r.code, 0, r.err);
    assert.equal(farmOf(r.out).mode, "snat");
    assert.match(r.err, /mode dsr needs the node's client-side interface.*served in snat/);
  });
});
