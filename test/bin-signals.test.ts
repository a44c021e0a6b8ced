// bin/kube-nftlb.js run by an older node (Debian 12's Node 20) hands over to Node 24 as a child
// process. A supervisor signals the process it started, the wrapper: SIGTERM, SIGINT and SIGHUP
// must reach the server, the wrapper must not return before the server is gone, and its exit
// status is the server's (128 + the signal's number if the server died of a signal). A wrapper
// killed outright (SIGKILL forwards nothing) must not leave the server running, orphaned.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { accessSync, constants, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { delimiter, join } from "node:path";
import { processes } from "../scripts/file-timeout.ts";
import { until } from "./until.ts";

const BIN = join(import.meta.dirname, "..", "bin", "kube-nftlb.js");

/** The first `node` on PATH outside node_modules (npm puts Node 24 first), if older than 22.19. */
function olderNode(): string | undefined {
  for (const dir of (process.env.PATH ?? "").split(delimiter)) {
    if (dir === "" || dir.includes("node_modules")) continue;
    const node = join(dir, "node");
    try {
      accessSync(node, constants.X_OK);
    } catch {
      continue;
    }
    const v = spawnSync(node, ["-p", "process.versions.node"], { encoding: "utf8" }).stdout.trim();
    const [major = 0, minor = 0] = v.split(".").map(Number);
    return major < 22 || (major === 22 && minor < 19) ? node : undefined;
  }
  return undefined;
}
const node = olderNode();
const skip =
  node === undefined ? "no node older than 22.19 first on PATH: the wrapper would not re-exec" : false;

/** Pids whose parent is `ppid`. */
const childrenOf = (ppid: number): number[] =>
  processes()
    .filter((p) => p.ppid === ppid)
    .map((p) => p.pid);
const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

/** Alive and not a zombie (an orphan's zombie waits for whoever adopted it to reap it). */
const running = (pid: number): boolean => {
  try {
    return readFileSync(`/proc/${pid}/stat`, "utf8").split(") ").at(-1)!.split(" ")[0] !== "Z";
  } catch {
    return false;
  }
};

let dir: string;
const servers: number[] = [];
before(() => {
  dir = mkdtempSync(join(tmpdir(), "bin-signals-"));
});
after(() => {
  // A server the wrapper left behind (today's failure) must not outlive the test.
  for (const pid of servers) if (alive(pid)) process.kill(pid, "SIGKILL");
  rmSync(dir, { recursive: true, force: true });
});

/** A long-running command under the wrapper: the conntrack agent, listening on a socket. */
async function start(name: string): Promise<{ wrapper: ChildProcess; server: number; output: () => string }> {
  const socket = join(dir, `${name}.sock`);
  const wrapper = spawn(node!, [BIN, "conntrack-agent", "--socket", socket], {
    stdio: ["ignore", "pipe", "pipe"],
    env: { PATH: process.env.PATH },
  });
  let output = "";
  wrapper.stdout.on("data", (b: Buffer) => (output += b.toString()));
  wrapper.stderr.on("data", (b: Buffer) => (output += b.toString()));
  // The agent logs "listening" in the same tick as it installs its signal handlers; the socket
  // alone appears a moment before them.
  await until(
    `the agent under the wrapper listens on ${socket}`,
    () => output.includes('"msg":"conntrack agent listening"') || wrapper.exitCode !== null,
  );
  assert.equal(wrapper.exitCode, null, `the wrapper exited early: ${output}`);
  const [server, ...more] = childrenOf(wrapper.pid!);
  assert.ok(server !== undefined && more.length === 0, "the wrapper runs exactly one child, Node 24");
  servers.push(server);
  return { wrapper, server, output: () => output };
}
const exited = (p: ChildProcess) =>
  new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    if (p.exitCode !== null || p.signalCode !== null) resolve({ code: p.exitCode, signal: p.signalCode });
    else p.once("exit", (code, signal) => resolve({ code, signal }));
  });

describe("the wrapper under an older node", { skip }, () => {
  for (const [signal, code] of [
    ["SIGTERM", 0], // the agent drains and exits 0
    ["SIGINT", 0],
    ["SIGHUP", 128 + 1], // the agent has no SIGHUP handler: it dies of it
  ] as const) {
    it(`${signal} to the wrapper reaches the server; the wrapper exits ${code} after it`, async () => {
      const { wrapper, server, output } = await start(signal);
      wrapper.kill(signal);
      const status = await exited(wrapper);
      assert.deepEqual(status, { code, signal: null }, output());
      await until(`the server (pid ${server}) is gone`, () => !alive(server));
    });
  }

  it("the wrapper killed outright (SIGKILL, nothing to forward): the server exits too", async () => {
    const { wrapper, server, output } = await start("orphan");
    wrapper.kill("SIGKILL");
    await exited(wrapper);
    await until(`the server (pid ${server}) exits once its wrapper is gone`, () => !running(server), {
      timeoutMs: 10_000,
      detail: output,
    });
  });

  it("a server killed outright: the wrapper exits 128 + the signal's number", async () => {
    const { wrapper, server, output } = await start("killed");
    process.kill(server, "SIGKILL");
    assert.deepEqual(await exited(wrapper), { code: 128 + 9, signal: null }, output());
  });

  it("the server's own exit status passes through", () => {
    const r = spawnSync(node!, [BIN, "conntrack-agent", "--socket", "relative.sock"], { encoding: "utf8" });
    assert.equal(r.status, 2, r.stderr);
    assert.match(r.stderr, /--socket must be an absolute path/);
  });
});
