import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { emit, parseFlags, usageError } from "./flags.ts";

const SPEC = {
  command: "kube-nftlb demo",
  help: "Usage: kube-nftlb demo [flags] PATH...",
  positionals: true,
  options: {
    output: { type: "string", short: "o", default: "text" },
    "dry-run": { type: "boolean" },
    name: { type: "string", multiple: true },
  },
} as const;
const FLAGS_ONLY = { ...SPEC, positionals: false };
const hint = "; run `kube-nftlb demo --help`";
const { version } = JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")) as {
  version: string;
};

describe("parseFlags", () => {
  it("values with defaults, repeated flags and positionals", () => {
    const r = parseFlags(SPEC, ["--name", "a", "x", "--name=b", "--dry-run", "--", "--y"]);
    assert.ok(r.ok);
    assert.deepEqual({ ...r.values }, { output: "text", name: ["a", "b"], "dry-run": true });
    assert.deepEqual(r.positionals, ["x", "--y"]);
  });
  const usage: [string, string[], string, typeof SPEC | typeof FLAGS_ONLY][] = [
    ["an unknown long flag", ["--outptu", "json"], "unknown flag --outptu", SPEC],
    ["an unknown short flag", ["-x"], "unknown flag -x", SPEC],
    ["a string flag at the end", ["x", "--output"], "--output needs a value", SPEC],
    ["a short string flag at the end", ["-o"], "-o (--output) needs a value", SPEC],
    ["a string flag followed by a flag", ["--output", "--dry-run", "x"], "--output needs a value", SPEC],
    ["a boolean with a value", ["--dry-run=yes"], "--dry-run takes no value", SPEC],
    [
      "an argument to a flags-only command",
      ["stray"],
      'unexpected argument "stray" (this command takes flags only)',
      FLAGS_ONLY,
    ],
  ];
  for (const [name, argv, message, spec] of usage) {
    it(`${name}: one line, exit 2`, () => {
      assert.deepEqual(parseFlags(spec, argv), {
        ok: false,
        exit: { code: 2, err: `kube-nftlb demo: ${message}${hint}` },
      });
    });
  }
  it("--help and -h win over anything else on the line", () => {
    for (const argv of [["--help"], ["-h"], ["--bogus", "--help"], ["x", "-h", "--output"]])
      assert.deepEqual(
        parseFlags(SPEC, argv),
        { ok: false, exit: { code: 0, out: SPEC.help } },
        argv.join(" "),
      );
  });
  it("--version prints the package's version", () => {
    assert.deepEqual(parseFlags(FLAGS_ONLY, ["--version"]), {
      ok: false,
      exit: { code: 0, out: `kube-nftlb ${version}` },
    });
  });
  it("a value that only looks like --help is a value", () => {
    const r = parseFlags(SPEC, ["--output=--help"]);
    assert.ok(r.ok);
    assert.equal(r.values.output, "--help");
  });
});

describe("usageError and emit", () => {
  it("a prefix of its own, the command in the hint", () => {
    assert.deepEqual(usageError({ command: "npm run lab --", prefix: "lab" }, "--nodes must be 1 or 2"), {
      code: 2,
      err: "lab: --nodes must be 1 or 2; run `npm run lab -- --help`",
    });
  });
  it("help and version to stdout, errors to stderr, the code returned", () => {
    const out: string[] = [];
    const err: string[] = [];
    const io = { out: (s: string) => out.push(s), err: (s: string) => err.push(s) };
    assert.equal(emit({ code: 0, out: "help" }, io), 0);
    assert.equal(emit(usageError(SPEC, "bad"), io), 2);
    assert.deepEqual({ out, err }, { out: ["help"], err: [`kube-nftlb demo: bad${hint}`] });
  });
});
