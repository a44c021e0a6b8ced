// An unhandled rejection in a running kube-nftlb process (syncer, webhook, node agents) is
// logged as one JSON line and the process exits non-zero (70), so the kubelet restarts it.
// The rejection is injected into the real process by a preloaded module, on SIGUSR2, once the
// command has logged that it runs: nothing of the command itself is replaced.
import { after, test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { CRASH_EXIT_CODE } from "../runtime/index.ts";
import { makeCa } from "./webhook-pki.ts";
import { SecretVolume } from "./webhook-tls.ts";
import { until } from "./until.ts";

const BIN = join(import.meta.dirname, "..", "bin", "kube-nftlb.js");
const dir = mkdtempSync(join(tmpdir(), `crash-exit-${process.pid}-`));
after(() => rmSync(dir, { recursive: true, force: true }));
const preload = join(dir, "reject-on-usr2.mjs");
writeFileSync(
  preload,
  `process.on("SIGUSR2", () => { Promise.reject(new Error("injected: a promise nobody awaits")); });\n`,
);
writeFileSync(join(dir, "key"), "k3y-0123456789abcdef\n");
writeFileSync(
  join(dir, "kubeconfig"),
  "apiVersion: v1\nkind: Config\nclusters: [{name: c, cluster: {server: 'http://127.0.0.1:1'}}]\ncontexts: [{name: c, context: {cluster: c, user: u}}]\nusers: [{name: u, user: {}}]\ncurrent-context: c\n",
);
const leaf = makeCa().sign("crash");
const volume = new SecretVolume(join(dir, "tls"));
volume.write({ "tls.crt": leaf.cert, "tls.key": leaf.key });

const commands: [string, string[], string][] = [
  [
    "syncer",
    [
      "--nftlb-url=http://127.0.0.1:1",
      `--nftlb-key-file=${join(dir, "key")}`,
      "--node-name=n",
      `--kubeconfig=${join(dir, "kubeconfig")}`,
      "--metrics-bind-address=127.0.0.1:0",
    ],
    "syncer starting",
  ],
  [
    "webhook",
    ["--tls-cert", volume.certFile, "--tls-key", volume.keyFile, "--port", "0", "--probe-port", "0"].concat([
      "--bind-address",
      "127.0.0.1",
    ]),
    "webhook listening",
  ],
  ["node-rules", ["--socket", join(dir, "node-rules.sock")], "node-rules agent listening"],
  ["conntrack-agent", ["--socket", join(dir, "conntrack.sock")], "conntrack agent listening"],
];

for (const [command, args, running] of commands)
  test(`${command}: an unhandled rejection is logged and the process exits ${CRASH_EXIT_CODE}`, async () => {
    const child = spawn(process.execPath, ["--import", pathToFileURL(preload).href, BIN, command, ...args], {
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    child.stdout.on("data", (c: Buffer) => (out += c.toString()));
    child.stderr.on("data", (c: Buffer) => (out += c.toString()));
    const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
    try {
      await until(`${command} runs`, () => out.includes(`"msg":"${running}"`) || child.exitCode !== null);
      assert.equal(child.exitCode, null, out);
      child.kill("SIGUSR2");
      assert.equal(await exited, CRASH_EXIT_CODE, out);
      const line = out
        .split("\n")
        .filter((l) => l.startsWith("{"))
        .map((l) => JSON.parse(l) as { level: number; msg: string; err?: { message?: string } })
        .find((l) => l.msg.startsWith("unhandled promise rejection"));
      assert.ok(line, `no JSON line for the rejection in:\n${out}`);
      assert.equal(line.level, 60, "fatal");
      assert.match(line.err?.message ?? "", /injected: a promise nobody awaits/);
    } finally {
      child.kill("SIGKILL");
    }
  });
