// `kube-nftlb render` explains itself: why a Service gives no farm (stderr, every reason),
// placeholder ClusterIPs for manifests not yet applied, findings at the annotation's own line,
// and pretty output on a terminal.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { FarmPatch } from "../nftlb/serialize.ts";
import { render as renderCommand } from "./render.ts";

const ROOT = join(import.meta.dirname, "..");
const NODE = ["--node-name", "node-a", "--node-ip", "192.168.1.10"];

async function render(args: string[], isTTY = false) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await renderCommand(args, {
    out: (l) => out.push(l + "\n"),
    err: (l) => err.push(l + "\n"),
    stdin: () => Promise.resolve(Buffer.from("")),
    isTTY,
  });
  return { code, out: out.join(""), err: err.join("") };
}
const farmsOf = (out: string) => (JSON.parse(out) as { farms: FarmPatch[] }).farms;

let dir: string;
const file = (name: string, content: string) => {
  const p = join(dir, name);
  writeFileSync(p, content);
  return p;
};
before(() => (dir = mkdtempSync(join(tmpdir(), "render-notes-"))));
after(() => rmSync(dir, { recursive: true, force: true }));

const service = (name: string, spec: string, metadata = "") => `apiVersion: v1
kind: Service
metadata:
  name: ${name}
  namespace: shop
${metadata}spec:
${spec}`;

// The shape of the original kube-nftlb README's annotations-service.yaml: annotations, a
// ClusterIP Service, and no clusterIP (the API server had not assigned one yet).
const UPSTREAM_LIKE = service(
  "my-service",
  `  type: ClusterIP
  selector: { app: front }
  ports:
    - { name: http, protocol: TCP, port: 8080, targetPort: 80 }
`,
  `  annotations:
    service.kubernetes.io/kube-nftlb-load-balancer-mode: "snat"
    service.kubernetes.io/kube-nftlb-load-balancer-scheduler: "hash-srcip"
`,
);

describe("render: why a Service gives no farm", () => {
  const cases: [string, string, RegExp][] = [
    ["no clusterIP yet", service("a", "  ports: [{ port: 80 }]\n"), /it has no clusterIP yet/],
    [
      "headless",
      service("b", "  clusterIP: None\n  ports: [{ port: 80 }]\n"),
      /it is headless \(clusterIP: None\)/,
    ],
    [
      "ExternalName",
      service("c", "  type: ExternalName\n  externalName: db.example.com\n"),
      /it is of type ExternalName/,
    ],
    [
      "another proxy's",
      service(
        "d",
        "  clusterIP: 10.96.0.4\n  ports: [{ port: 80 }]\n",
        "  labels: { service.kubernetes.io/service-proxy-name: other-proxy }\n",
      ),
      /labelled service\.kubernetes\.io\/service-proxy-name=other-proxy for another proxy/,
    ],
    ["no ports", service("e", "  clusterIP: 10.96.0.5\n"), /it has no ports/],
    [
      "an invalid clusterIP",
      service("f", "  clusterIP: 10.96.0.300\n  ports: [{ port: 80 }]\n"),
      /its addresses or ports are invalid \(above\)/,
    ],
    [
      "only invalid ports",
      service("g", "  clusterIP: 10.96.0.7\n  ports: [{ port: 0 }]\n"),
      /its addresses or ports are invalid \(above\)/,
    ],
  ];
  for (const [name, manifest, why] of cases) {
    it(`${name}: a note on stderr, exit 0, no farm`, async () => {
      const p = file(`${name.replace(/\W/g, "-")}.yaml`, manifest);
      const r = await render([...NODE, p]);
      assert.equal(r.code, 0, r.err);
      assert.deepEqual(farmsOf(r.out), []);
      const notes = r.err.split("\n").filter((l) => /: note: /.test(l));
      assert.equal(notes.length, 1, r.err);
      assert.match(notes[0]!, /^.*\.yaml:1: note: Service shop\/\w+ gives no farm: /);
      assert.match(notes[0]!, why);
    });
  }

  it("a Service with farms gets no note", async () => {
    const r = await render([
      ...NODE,
      file("ok.yaml", service("ok", "  clusterIP: 10.96.0.9\n  ports: [{ port: 80 }]\n")),
    ]);
    assert.equal(farmsOf(r.out).length, 1);
    assert.doesNotMatch(r.err, /note:/);
  });

  it("the original README's annotations-service.yaml: says why, and how to preview it", async () => {
    const r = await render([...NODE, file("annotations-service.yaml", UPSTREAM_LIKE)]);
    assert.equal(r.code, 0);
    assert.deepEqual(farmsOf(r.out), []);
    assert.match(
      r.err,
      /annotations-service\.yaml:1: note: Service shop\/my-service gives no farm: it has no clusterIP yet \(the API server assigns one when it is applied\); preview it with --placeholder-cluster-ips/,
    );
  });
});

describe("render of the original README's own annotations-service.yaml (examples/lab/upstream)", () => {
  const UPSTREAM = join(ROOT, "examples", "lab", "upstream", "annotations", "annotations-service.yaml");
  it("as written: no farm, and stderr says why and how to preview it", async () => {
    const r = await render([...NODE, UPSTREAM]);
    assert.equal(r.code, 0, r.err);
    assert.deepEqual(farmsOf(r.out), []);
    assert.match(
      r.err,
      /note: Service default\/my-service gives no farm: it has no clusterIP yet .*--placeholder-cluster-ips/,
    );
  });
  it("with --placeholder-cluster-ips: its farm, on 192.0.2.1:8080 with hash on srcip", async () => {
    const r = await render([...NODE, "--placeholder-cluster-ips", UPSTREAM]);
    assert.equal(r.code, 0, r.err);
    assert.deepEqual(
      farmsOf(r.out).map((f) => [
        f.name,
        f.mode,
        f.scheduler,
        f["sched-param"],
        f.addresses?.map((a) => a.name),
      ]),
      [["default.my-service.http", "snat", "hash", "srcip", ["tcp-192.0.2.1-8080"]]],
    );
  });
});

describe("render --placeholder-cluster-ips", () => {
  it("gives an unapplied Service an address from 192.0.2.0/24 (RFC 5737), and says so", async () => {
    const r = await render([...NODE, "--placeholder-cluster-ips", file("up.yaml", UPSTREAM_LIKE)]);
    assert.equal(r.code, 0, r.err);
    const farms = farmsOf(r.out);
    assert.deepEqual(
      farms.map((f) => [
        f.name,
        f.addresses?.map((a) => `${a["ip-addr"]}:${a.ports}`),
        f.scheduler,
        f["sched-param"],
      ]),
      [["shop.my-service.http", ["192.0.2.1:8080"], "hash", "srcip"]],
    );
    assert.match(
      r.err,
      /up\.yaml:1: note: Service shop\/my-service: placeholder clusterIP 192\.0\.2\.1 \(--placeholder-cluster-ips\)/,
    );
    assert.doesNotMatch(r.err, /gives no farm/);
  });

  it("one address per Service, the families of spec.ipFamilies (IPv6 from 2001:db8::/32, RFC 3849)", async () => {
    const p = file(
      "many.yaml",
      [
        service("one", "  ports: [{ port: 80 }]\n"),
        service(
          "two",
          "  ipFamilyPolicy: RequireDualStack\n  ipFamilies: [IPv6, IPv4]\n  ports: [{ port: 80 }]\n",
        ),
        service("three", "  clusterIP: 10.96.0.3\n  ports: [{ port: 80 }]\n"),
        service("four", "  clusterIP: None\n  ports: [{ port: 80 }]\n"),
      ].join("---\n"),
    );
    const r = await render([
      "--node-name",
      "n",
      "--node-ip",
      "192.168.1.10,fd01::10",
      "--placeholder-cluster-ips",
      p,
    ]);
    assert.equal(r.code, 0, r.err);
    assert.deepEqual(
      farmsOf(r.out).map((f) => [f.name, f.addresses?.map((a) => a["ip-addr"])]),
      [
        ["shop.one.80", ["192.0.2.1"]],
        ["shop.three.80", ["10.96.0.3"]],
        ["shop.two.80", ["192.0.2.2"]],
        ["shop.two.80.v6", ["2001:db8::1"]],
      ],
    );
    assert.match(r.err, /Service shop\/two: placeholder clusterIPs 2001:db8::1, 192\.0\.2\.2/);
    assert.match(r.err, /Service shop\/four gives no farm: it is headless/);
  });
});

describe("render: no Service at all", () => {
  it('empty input: {"farms":[]} and a note saying the input held nothing', async () => {
    const r = await render([...NODE, "-"]);
    assert.equal(r.code, 0, r.err);
    assert.deepEqual(farmsOf(r.out), []);
    assert.equal(r.err, "note: no farm: stdin held no Kubernetes object (empty, or only comments)\n");
    const p = file("comments.yaml", "# nothing yet\n---\n");
    assert.match(
      (await render([...NODE, p])).err,
      /^note: no farm: .*comments\.yaml held no Kubernetes object/,
    );
  });
  it("other kinds only: the note names what was read", async () => {
    const p = file("deploy.yaml", "apiVersion: apps/v1\nkind: Deployment\nmetadata: { name: web }\n");
    const r = await render([...NODE, p]);
    assert.deepEqual(farmsOf(r.out), []);
    assert.equal(r.err, "note: no farm: no Service among the 1 object(s) read (Deployment)\n");
  });
});

describe("render: findings at the annotation's line", () => {
  it("an invalid annotation is cited at its own line, as lint cites it", async () => {
    const p = file(
      "line.yaml",
      service(
        "web",
        "  clusterIP: 10.96.0.1\n  ports: [{ port: 80 }]\n",
        "  annotations:\n    service.kubernetes.io/kube-nftlb-load-balancer-scheduler: RR\n",
      ),
    );
    const r = await render([...NODE, p]);
    assert.match(r.err, /line\.yaml:7: error: Service shop\/web: .*scheduler: invalid value "RR"/);
    const lint = spawnSync(process.execPath, [join(ROOT, "bin", "kube-nftlb.js"), "lint", p], {
      encoding: "utf8",
    });
    assert.match(lint.stderr, /line\.yaml:7: error: /);
  });
  it("a bad field is cited at the field", async () => {
    const p = file(
      "field.yaml",
      service("web", "  clusterIP: 10.96.0.1\n  externalIPs: [nope]\n  ports: [{ port: 80 }]\n"),
    );
    const r = await render([...NODE, p]);
    assert.match(
      r.err,
      /field\.yaml:8: error: Service shop\/web: spec\.externalIPs: "nope" is not an IP address/,
    );
  });
});

describe("render: output on a terminal", () => {
  const p = () => file("tty.yaml", service("web", "  clusterIP: 10.96.0.1\n  ports: [{ port: 80 }]\n"));
  it("compact when stdout is not a terminal, indented when it is; the same farms", async () => {
    const piped = await render([...NODE, p()], false);
    const tty = await render([...NODE, p()], true);
    assert.equal(piped.out.trimEnd().split("\n").length, 1);
    assert.match(tty.out, /^\{\n {2}"farms": \[\n {4}\{\n {6}"name": "shop\.web\.80",/);
    assert.deepEqual(JSON.parse(tty.out), JSON.parse(piped.out));
  });
  it("the real command on a pseudo-terminal (script) prints indented", () => {
    const cmd = [process.execPath, join(ROOT, "bin", "kube-nftlb.js"), "render", ...NODE, p()]
      .map((a) => `'${a}'`)
      .join(" ");
    const r = spawnSync("script", ["-qec", cmd, "/dev/null"], { encoding: "utf8" });
    assert.equal(r.status, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /^\{\r?\n {2}"farms": \[/);
  });
});
