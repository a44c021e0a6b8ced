// `kube-nftlb lint` as a user runs it: the real bin, real files, exit codes and output.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const BIN = join(import.meta.dirname, "..", "bin", "kube-nftlb.js");
const PREFIX = "service.kubernetes.io/kube-nftlb-load-balancer-";

function lint(args: string[], input?: string | Buffer) {
  const r = spawnSync(process.execPath, [BIN, "lint", ...args], {
    input,
    encoding: "utf8",
    cwd: join(import.meta.dirname, ".."),
    maxBuffer: 64 * 1024 * 1024,
  });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

let dir: string;
const file = (name: string, content: string | Buffer) => {
  const p = join(dir, name);
  writeFileSync(p, content);
  return p;
};
before(() => (dir = mkdtempSync(join(tmpdir(), "lint-"))));
after(() => rmSync(dir, { recursive: true, force: true }));

const service = (name: string, annotations: Record<string, string>, extra = "") =>
  `apiVersion: v1
kind: Service
metadata:
  name: ${name}
  namespace: ns1
  annotations:
${Object.entries(annotations)
  .map(([k, v]) => `    ${PREFIX}${k}: "${v}"`)
  .join("\n")}
spec:
  ports:
    - port: 80${extra}
`;

describe("the examples, as the README shows them", () => {
  it("examples/ prints readable errors for the bad Services and exits 1", () => {
    const r = lint(["examples/"]);
    assert.equal(r.code, 1);
    assert.match(
      r.err,
      /examples\/bad\/typos\.yaml:8: error: Service store\/shop: service\.kubernetes\.io\/kube-nftlb-load-balancer-mode: invalid value "SNAT"; did you mean "snat"\?/,
    );
    assert.match(r.err, /Service default\/boot: .*helper: helper "tftp" works on UDP only/);
    assert.doesNotMatch(r.err, /examples\/good/);
  });
  it("examples/good exits 0", () => {
    const r = lint(["examples/good"]);
    assert.equal(r.code, 0, r.err);
    assert.match(r.err, /0 error\(s\)/);
  });
});

describe("inputs", () => {
  it("multi-document YAML and kind: List; other kinds skipped", () => {
    const list = JSON.stringify({
      apiVersion: "v1",
      kind: "List",
      items: [
        { kind: "ConfigMap", metadata: { name: "c" } },
        {
          apiVersion: "v1",
          kind: "Service",
          metadata: { name: "in-list", annotations: { [`${PREFIX}log`]: "all" } },
          spec: { ports: [{ port: 1 }] },
        },
      ],
    });
    const p = file(
      "multi.yaml",
      `${service("one", { mode: "dnat" })}---\nkind: Deployment\nmetadata: {name: d}\n---\n${list}\n`,
    );
    const r = lint([p]);
    assert.equal(r.code, 1);
    assert.match(
      r.err,
      /Service default\/in-list: service\.kubernetes\.io\/kube-nftlb-load-balancer-log: invalid value "all"/,
    );
    assert.match(r.err, /1 file\(s\), 2 Service\(s\): 1 error\(s\)/);
  });
  it("stdin with -", () => {
    const r = lint(["-"], service("piped", { scheduler: "rrr" }));
    assert.equal(r.code, 1);
    assert.match(
      r.err,
      /^<stdin>:\d+: error: Service ns1\/piped: .*scheduler: invalid value "rrr"; did you mean "rr"\?/m,
    );
  });
  it("a directory is searched recursively for yaml, yml and json only", () => {
    const sub = join(dir, "tree", "deep");
    spawnSync("mkdir", ["-p", sub]);
    writeFileSync(join(sub, "a.yml"), service("a", { mode: "nat" }));
    writeFileSync(
      join(sub, "b.json"),
      JSON.stringify({ kind: "Service", metadata: { name: "b" }, spec: {} }),
    );
    writeFileSync(join(sub, "c.txt"), "not: [a manifest");
    const r = lint([join(dir, "tree")]);
    assert.equal(r.code, 1);
    assert.match(r.err, /2 file\(s\), 2 Service\(s\): 1 error\(s\)/);
  });
  it("warnings are printed but do not fail", () => {
    const p = file("warn.yaml", service("w", { persistence: "srcport" }, "\n  sessionAffinity: ClientIP"));
    const r = lint([p]);
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /warning: Service ns1\/w: .*persistence: the annotation "srcport" takes priority/);
  });
  it("--output json prints the same findings", () => {
    const r = lint(["--output", "json", "examples/bad/typos.yaml"]);
    assert.equal(r.code, 1);
    const doc = JSON.parse(r.out) as {
      errors: number;
      findings: { object: string; key: string; severity: string }[];
    };
    assert.equal(doc.errors, 4);
    assert.ok(doc.findings.every((f) => f.object === "Service store/shop" && f.severity === "error"));
    assert.ok(doc.findings.some((f) => f.key === `${PREFIX}schedular`));
  });
});

describe("bad input never crashes lint", () => {
  const cases: [string, () => string, RegExp][] = [
    [
      "a binary file",
      () => file("bin.yaml", Buffer.from([0x7f, 0x45, 0x4c, 0x46, 0, 1, 2, 3])),
      /binary file/,
    ],
    [
      "non-UTF-8 text",
      () => file("latin1.yaml", Buffer.from("kind: Service\nmetadata: {name: caf\xe9}\n", "latin1")),
      /not valid UTF-8/,
    ],
    [
      "a YAML alias bomb",
      () => {
        let y = 'a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n';
        for (let i = 1; i < 10; i++)
          y += `a${i}: &a${i} [${Array(9)
            .fill(`*a${i - 1}`)
            .join(",")}]\n`;
        return file("bomb.yaml", y);
      },
      /alias|Excessive/i,
    ],
    ["a file over 16 MiB", () => file("huge.yaml", Buffer.alloc(17 * 1024 * 1024, "#")), /bytes are refused/],
    [
      "broken YAML, with its line",
      () => file("broken.yaml", "kind: Service\nmetadata:\n  name: [x\n  other: }\n"),
      /broken\.yaml:\d+: error: /,
    ],
    ["a scalar document", () => file("scalar.yaml", "just a string\n"), /not a Kubernetes object/],
    ["deeply nested flow collections", () => file("deep.yaml", "[".repeat(5000) + "]".repeat(5000)), /error/],
    [
      "a Service of the wrong shape",
      () =>
        file(
          "shape.yaml",
          "kind: Service\nmetadata: {name: x, annotations: 5}\nspec: {ports: [{port: http}]}\n",
        ),
      /not a valid Service/,
    ],
  ];
  for (const [name, make, pattern] of cases) {
    it(`${name}: a clear error, exit 1`, () => {
      const r = lint([make()]);
      assert.equal(r.code, 1, r.err);
      assert.match(r.err, pattern);
      assert.doesNotMatch(r.err, /\n\s+at .*\.ts:\d+/, "no stack trace");
    });
  }
});

describe("input that holds nothing to check", () => {
  it("empty stdin (a failed `kubectl get … |`): an error saying so, exit 1", () => {
    const r = lint(["-"], "");
    assert.equal(r.code, 1, r.err);
    assert.equal(
      r.err,
      "<stdin>: error: no Kubernetes object in the input (it is empty, or only comments): nothing was checked; did the command before the pipe fail?\n" +
        "1 file(s), 0 Service(s): 1 error(s), 0 warning(s)\n",
    );
  });
  it("an unrendered Helm template: the hint to run helm template, no schema error, no Node warning", () => {
    const p = file(
      "chart-service.yaml",
      `apiVersion: v1
kind: Service
metadata:
  name: web
  annotations:
    ${PREFIX}scheduler: {{ .Values.scheduler }}
spec:
  ports:
    - port: {{ .Values.port }}
`,
    );
    const r = lint([p]);
    assert.equal(r.code, 1);
    assert.match(
      r.err,
      /chart-service\.yaml:6: error: this is an unrendered Helm template .*run `helm template` first/,
    );
    assert.doesNotMatch(r.err, /not a valid Service|\(node:\d+\) Warning/);
  });
});

describe("usage", () => {
  it("--help exits 0 and documents the exit codes", () => {
    const r = lint(["--help"]);
    assert.equal(r.code, 0);
    assert.match(r.out, /Exit status: 0 no errors/);
  });
  for (const [name, args] of [
    ["no PATH", []],
    ["an unknown flag", ["--frobnicate", "x"]],
    ["a bad --output", ["--output", "xml", "examples"]],
    ["a missing path", ["does/not/exist.yaml"]],
  ] as const) {
    it(`${name} exits 2 with a message`, () => {
      const r = lint([...args]);
      assert.equal(r.code, 2);
      assert.match(r.err, /kube-nftlb lint: /);
      assert.equal(r.err.trimEnd().split("\n").length, 1, `one line, not the usage: ${r.err}`);
    });
  }
  it("the top-level command lists the commands and rejects unknown ones", () => {
    const top = spawnSync(process.execPath, [BIN, "--help"], { encoding: "utf8" });
    assert.equal(top.status, 0);
    assert.match(top.stdout, /lint\s+validate kube-nftlb annotations/);
    const bad = spawnSync(process.execPath, [BIN, "lnit"], { encoding: "utf8" });
    assert.equal(bad.status, 2);
    assert.equal(bad.stderr, 'kube-nftlb: unknown command "lnit"; run `kube-nftlb --help`\n');
  });
});
