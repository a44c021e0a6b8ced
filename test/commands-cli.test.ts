// Every command, run as a user runs it (a child process): --version prints the package's
// version, --help the usage on stdout, and a bad flag one line on stderr that says what is wrong
// and how to get the help, exit 2. The same for each, because flags/ parses for each.
import { before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";

const ROOT = join(import.meta.dirname, "..");
const BIN = join(ROOT, "bin", "kube-nftlb.js");
const { version } = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { version: string };

interface Cmd {
  /** How the help hint spells it, and how the error line starts. */
  command: string;
  prefix: string;
  argv: string[];
}
const product = readdirSync(join(ROOT, "cli"))
  .filter((f) => f.endsWith(".ts") && !f.endsWith(".test.ts") && f !== "main.ts")
  .map((f) => f.slice(0, -3));
const commands: Cmd[] = [
  { command: "kube-nftlb", prefix: "kube-nftlb", argv: [BIN] },
  ...product.map((name) => ({
    command: `kube-nftlb ${name}`,
    prefix: `kube-nftlb ${name}`,
    argv: [BIN, name],
  })),
  { command: "npm run lab --", prefix: "lab", argv: [join(ROOT, "lab", "cli.ts")] },
  {
    command: "node lab/apiserver/cli.ts",
    prefix: "lab apiserver",
    argv: [join(ROOT, "lab", "apiserver", "cli.ts")],
  },
];

function run(argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    // The timeout only keeps a hung child from hanging the suite; a killed child fails the checks.
    execFile(process.execPath, argv, { timeout: 120_000 }, (err, stdout, stderr) => {
      const code = err === null ? 0 : typeof err.code === "number" ? err.code : -1;
      resolve({ code, stdout, stderr });
    });
  });
}

type Result = Awaited<ReturnType<typeof run>>;
const CHECKS = { version: ["--version"], help: ["--help"], bad: ["--no-such-flag"] } as const;
const results = new Map<string, Result>();
const result = (c: Cmd, check: keyof typeof CHECKS) => results.get(`${c.command} ${check}`)!;

describe("every command's flags", () => {
  // Two at a time (the cores there are): each child spends its time loading modules, and there
  // are 30 of them.
  before(async () => {
    const jobs = commands.flatMap((c) =>
      Object.entries(CHECKS).map(
        ([check, args]) =>
          async () =>
            results.set(`${c.command} ${check}`, await run([...c.argv, ...args])),
      ),
    );
    const worker = async () => {
      for (let job = jobs.shift(); job !== undefined; job = jobs.shift()) await job();
    };
    await Promise.all([worker(), worker()]);
  });
  it("covers every command of cli/ and the lab's two", () => {
    assert.ok(product.includes("lint") && product.includes("syncer") && product.includes("conntrack-agent"));
    assert.equal(commands.length, product.length + 3);
  });
  for (const c of commands) {
    describe(c.command, () => {
      it(`--version prints kube-nftlb ${version}, exit 0`, () => {
        assert.deepEqual(result(c, "version"), { code: 0, stdout: `kube-nftlb ${version}\n`, stderr: "" });
      });
      it("--help prints the usage on stdout, naming --version, exit 0", () => {
        const r = result(c, "help");
        assert.equal(r.code, 0, r.stderr);
        assert.match(r.stdout, /^Usage: /);
        assert.match(r.stdout, /--version/);
        assert.equal(r.stderr, "");
      });
      it("an unknown flag: one line naming it and the help, exit 2", () => {
        const what =
          c.prefix === "kube-nftlb" ? 'unknown command "--no-such-flag"' : "unknown flag --no-such-flag";
        const want = `${c.prefix}: ${what}; run \`${c.command} --help\`\n`;
        assert.deepEqual(result(c, "bad"), { code: 2, stdout: "", stderr: want });
      });
    });
  }
});
