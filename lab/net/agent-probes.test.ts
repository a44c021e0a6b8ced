// A probe whose process was busy past its deadline while the answer came in is not a timeout:
// the answer is read first (afterPolled). The failure it fixes was captured in the replace test
// at load ~20: handshake and whole answer within 60 ms, the agent's 500 ms timer first. Real
// sockets on 127.0.0.1; the server runs in a child process, so it answers while this one is busy.
import { after, test } from "node:test";
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { once } from "node:events";
import { tmpdir } from "node:os";
import path from "node:path";
import process from "node:process";
import { createInterface } from "node:readline";
import { until } from "../../test/until.ts";
import { tcp, udp } from "./agent-probes.ts";

const dir = mkdtempSync(path.join(tmpdir(), "agent-probes-"));
// Takes each TCP connection (or datagram) and touches `<dir>/asked`, answers once `<dir>/go`
// exists (unless told to stay silent), then touches `<dir>/answered`: the test makes this process
// busy between the two, and waits for the files, not for guessed times.
const SERVER = `
const net = require("node:net"), dgram = require("node:dgram"), fs = require("node:fs");
const [dir, silent] = process.argv.slice(1);
const touch = (f) => fs.writeFileSync(dir + "/" + f, "");
const whenGo = (fn) => { const t = setInterval(() => fs.existsSync(dir + "/go") && (clearInterval(t), fn()), 2); };
const t = net.createServer((s) => {
  touch("asked");
  if (silent !== "silent") whenGo(() => s.end("HTTP/1.0 200 OK\\r\\n\\r\\nhello", () => touch("answered")));
}).listen(0, "127.0.0.1", () => {
  const u = dgram.createSocket("udp4");
  u.on("message", (m, r) => { touch("asked"); whenGo(() => u.send("hello", r.port, r.address, () => touch("answered"))); });
  u.bind(0, "127.0.0.1", () => console.log(JSON.stringify({ tcp: t.address().port, udp: u.address().port })));
});`;

const servers: ChildProcess[] = [];
async function server(mode = "answer"): Promise<{ tcp: number; udp: number; dir: string }> {
  const d = mkdtempSync(path.join(dir, "s-"));
  const child = spawn(process.execPath, ["-e", SERVER, d, mode], { stdio: ["ignore", "pipe", "inherit"] });
  servers.push(child);
  const [line] = (await once(createInterface({ input: child.stdout }), "line")) as [string];
  return { ...(JSON.parse(line) as { tcp: number; udp: number }), dir: d };
}

/**
 * Once the server has the probe's connection (or datagram): lets it answer, and keeps this
 * process busy (no event loop turn) until the answer is sent and the probe's deadline is `ms`
 * behind, as a process starved of CPU would be.
 */
async function busyWhileAnswered(d: string, ms: number): Promise<void> {
  await until("the server has the probe", () => existsSync(path.join(d, "asked")), { intervalMs: 5 });
  writeFileSync(path.join(d, "go"), "");
  busyUntilAnswered(d, ms);
}

/** Busy (no event loop turn) until the server's answer is sent and `ms` have gone by. */
function busyUntilAnswered(d: string, ms: number): void {
  const t0 = performance.now();
  for (;;) {
    const elapsed = performance.now() - t0;
    if (existsSync(path.join(d, "answered")) && elapsed > ms) return;
    assert.ok(elapsed < 20_000, "the server never answered");
  }
}

after(() => {
  for (const s of servers) s.kill();
  rmSync(dir, { recursive: true, force: true });
});

test("TCP: answered while the process was busy past the deadline → the answer, not a timeout", async () => {
  const s = await server();
  const probe = tcp({ id: 1, proto: "tcp", host: "127.0.0.1", port: s.tcp, timeoutMs: 1000 });
  await busyWhileAnswered(s.dir, 1500);
  assert.deepEqual(await probe, { ok: true, answer: "hello" });
});

test("TCP: the handshake too done while the process was busy → the answer, not a timeout", async () => {
  const s = await server();
  writeFileSync(path.join(s.dir, "go"), "");
  const probe = tcp({ id: 1, proto: "tcp", host: "127.0.0.1", port: s.tcp, timeoutMs: 1000 });
  // One turn: connect(2) is issued (net's nextTick); its completion is left to the busy time.
  await new Promise((r) => setImmediate(r));
  busyUntilAnswered(s.dir, 1500);
  assert.deepEqual(await probe, { ok: true, answer: "hello" });
});

test("UDP: the same for a datagram", async () => {
  const s = await server();
  const probe = udp({ id: 1, proto: "udp", host: "127.0.0.1", port: s.udp, timeoutMs: 1000 });
  await busyWhileAnswered(s.dir, 1500);
  assert.deepEqual(await probe, { ok: true, answer: "hello" });
});

test("TCP: a server that never answers is still a timeout (connected, no answer)", async () => {
  const s = await server("silent");
  const r = await tcp({ id: 1, proto: "tcp", host: "127.0.0.1", port: s.tcp, timeoutMs: 100 });
  assert.equal(r.ok, false);
  assert.match(r.ok ? "" : r.error, /^timeout \(connected, no answer\)$/);
});
