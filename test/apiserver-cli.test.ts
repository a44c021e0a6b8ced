// The lab API server's command line as a new user meets it: --help, bad flags, and a server that
// starts, writes a kubeconfig kubectl can use, and stops on SIGTERM.
import assert from "node:assert/strict";
import { execFile, spawn } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { request } from "../lab/apiserver/client.ts";
import { readFileSync } from "node:fs";
import { parse } from "yaml";
import { until } from "./until.ts";

const NODE = process.execPath;
const CLI = "lab/apiserver/cli.ts";

function run(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(NODE, [CLI, ...args], { timeout: 20_000 }, (err, stdout, stderr) => {
      resolve({ code: err === null ? 0 : typeof err.code === "number" ? err.code : 1, stdout, stderr });
    });
  });
}

describe("node lab/apiserver/cli.ts", () => {
  it("--help explains the flags and exits 0", async () => {
    const r = await run(["--help"]);
    assert.equal(r.code, 0);
    assert.match(r.stdout, /^Usage: node lab\/apiserver\/cli\.ts --dir DIR/);
    assert.match(r.stdout, /--webhook-service/);
  });

  it("refuses a missing --dir, unknown flags and a bad port with exit 2 and a reason", async () => {
    const hint = "; run `node lab/apiserver/cli.ts --help`\n";
    const noDir = await run([]);
    assert.equal(noDir.code, 2);
    assert.equal(noDir.stderr, `lab apiserver: --dir is required${hint}`);
    const bogus = await run(["--dir", "/tmp/x", "--bogus"]);
    assert.equal(bogus.code, 2);
    assert.equal(bogus.stderr, `lab apiserver: unknown flag --bogus${hint}`);
    const port = await run(["--dir", "/tmp/x", "--port", "http"]);
    assert.equal(port.code, 2);
    assert.equal(port.stderr, `lab apiserver: --port: want a number from 0 to 65535, got "http"${hint}`);
  });

  it("starts, writes a working kubeconfig, and stops on SIGTERM", async () => {
    const dir = mkdtempSync(join(tmpdir(), "apiserver-cli-"));
    const child = spawn(NODE, [CLI, "--dir", dir]);
    let out = "";
    child.stdout.on("data", (c: Buffer) => (out += c.toString()));
    const exited = new Promise<number | null>((r) => child.on("exit", (code) => r(code)));
    try {
      await until("the banner", () => out.includes("Ctrl-C"), { timeoutMs: 15_000, detail: () => out });
      assert.match(out, new RegExp(`export KUBECONFIG=${join(dir, "kubeconfig")}`));
      const kc = parse(readFileSync(join(dir, "kubeconfig"), "utf8")) as {
        clusters: { cluster: { server: string } }[];
        users: { user: { token: string } }[];
      };
      const target = {
        url: kc.clusters[0]?.cluster.server ?? "",
        token: kc.users[0]?.user.token ?? "",
        ca: { cert: readFileSync(join(dir, "ca.crt"), "utf8") },
      };
      const r = await request(target, "GET", "/api/v1/namespaces/default");
      assert.equal(r.status, 200, r.text);
      child.kill("SIGTERM");
      assert.equal(await exited, 0);
      assert.ok(existsSync(join(dir, "kubeconfig")), "the kubeconfig stays for the user to inspect");
    } finally {
      child.kill("SIGKILL");
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
