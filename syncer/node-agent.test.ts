// The node agents' shared socket server and client (node-agent.ts), over a real unix socket.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { until } from "../test/until.ts";
import { askNodeAgent, jsonLine, serveNodeAgent, type NodeAgent } from "./node-agent.ts";

const quiet = { info: () => undefined, warn: () => undefined };
let dir = "";
let socket = "";
let agent: NodeAgent;
let running = 0;
let most = 0;
const releases: (() => void)[] = [];

before(async () => {
  dir = mkdtempSync(path.join(tmpdir(), "knl-node-agent-"));
  socket = path.join(dir, "agent.sock");
  agent = await serveNodeAgent({
    name: "test agent",
    socket,
    maxRequestBytes: 1_000,
    parse: (line) => {
      const j = jsonLine(line);
      return j.ok && typeof j.value === "number"
        ? { ok: true, value: j.value }
        : { ok: false, error: "a number" };
    },
    handle: async (n: number) => {
      most = Math.max(most, ++running);
      await new Promise<void>((r) => releases.push(r));
      running--;
      return { ok: true, value: n * 2 };
    },
    log: quiet,
  });
});
after(async () => {
  await agent.close();
  rmSync(dir, { recursive: true, force: true });
});

test("a node agent serves one request at a time, whoever asks; each gets its own answer", async () => {
  assert.equal(statSync(socket).mode & 0o777, 0o660);
  const answers = Promise.all([1, 2, 3].map((n) => askNodeAgent("test agent", socket, n as never, 5_000)));
  for (let served = 0; served < 3; served++) {
    const release = await until("a job is running", () => releases.shift(), 5_000);
    release();
  }
  const got = (await answers).map((a) => (a.ok ? (a.value as { value: number }).value : a.error)).sort();
  assert.deepEqual(got, [2, 4, 6]);
  assert.equal(most, 1, "never two jobs at once");
});

test("a node agent answers a bad or oversized request with a reason; no agent is an error value", async () => {
  assert.deepEqual(await askNodeAgent("test agent", socket, { x: 1 }, 5_000), {
    ok: true,
    value: { ok: false, error: "a number" },
  });
  assert.deepEqual(await askNodeAgent("test agent", socket, { x: "y".repeat(2_000) }, 5_000), {
    ok: true,
    value: { ok: false, error: "request over 1000 bytes" },
  });
  const missing = path.join(dir, "nobody.sock");
  assert.deepEqual(await askNodeAgent("test agent", missing, {}, 5_000), {
    ok: false,
    error: `test agent at ${missing}: ENOENT`,
  });
});
