// The API stand-in driven by a second real client, the official Python one (Debian's
// python3-kubernetes): each test/python/test_*.py is a unittest module run against a fresh
// stand-in. A script asks for a fault (lab/apiserver/faults.ts) by printing `@@fault <name>`;
// the answer goes back on its stdin. Without python3-kubernetes this skips loudly (CI installs it).
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { readdirSync } from "node:fs";
import path from "node:path";
import { createInterface } from "node:readline";
import { after, before, describe, it } from "node:test";
import { startApiServer, type ApiServer } from "../lab/apiserver/index.ts";

const PYTHON = "/usr/bin/python3";
const DIR = path.join(import.meta.dirname, "python");
const probe = spawnSync(PYTHON, ["-c", "import kubernetes"], { stdio: "ignore" });
const skip =
  probe.error !== undefined || probe.status !== 0
    ? "needs /usr/bin/python3 with python3-kubernetes (the official client; .ci/run installs it)"
    : false;
const scripts = readdirSync(DIR)
  .filter((f) => /^test_.*\.py$/.test(f))
  .sort();

type FaultName = "expireWatches" | "dropWatches";
const FAULTS: Record<FaultName, (api: ApiServer) => number> = {
  expireWatches: (api) => api.faults.expireWatches(),
  dropWatches: (api) => api.faults.dropWatches(),
};

function runScript(api: ApiServer, script: string): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve) => {
    const child = spawn(PYTHON, ["-m", "unittest", "-v", script.replace(/\.py$/, "")], {
      cwd: DIR,
      env: { ...process.env, KUBECONFIG: api.kubeconfigPath, PYTHONDONTWRITEBYTECODE: "1" },
      stdio: ["pipe", "pipe", "pipe"],
    });
    let output = "";
    child.stderr.on("data", (c: Buffer) => (output += c.toString()));
    createInterface({ input: child.stdout }).on("line", (line) => {
      const m = /^@@fault (\w+)$/.exec(line);
      if (m === null) {
        output += `${line}\n`;
        return;
      }
      const f = FAULTS[m[1] as FaultName] as ((a: ApiServer) => number) | undefined;
      child.stdin.write(f === undefined ? `error: no fault ${m[1]}\n` : `${f(api)}\n`);
    });
    const timer = setTimeout(() => child.kill("SIGKILL"), 120_000);
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    });
  });
}

describe("the API stand-in driven by the official Python client", { skip }, () => {
  let api: ApiServer;
  before(async () => {
    api = await startApiServer({ historySize: 1000 });
  });
  after(async () => api?.stop());

  for (const script of scripts) {
    it(script, async () => {
      const { code, output } = await runScript(api, script);
      assert.equal(code, 0, `${script} failed:\n${output}`);
    });
  }
});
