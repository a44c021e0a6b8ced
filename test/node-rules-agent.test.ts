// The DaemonSet's rules container as the manifest runs it: `kube-nftlb node-rules` in a network
// namespace with exactly the manifest's user and capabilities (setpriv), and the syncer's side of
// the socket. It writes only table inet kube-nftlb, refuses garbage with a reason and keeps
// answering, and holds NET_ADMIN and nothing else.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { chownSync, chmodSync, mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { claimSlot, PREFIX, releaseSlot } from "../lab/net/slots.ts";
import { socketTable } from "../syncer/node-rules-agent.ts";
import type { NodeRules } from "../syncer/node-rules.ts";
import { daemonSet, kubectlMissing, render, ROOT, type Container } from "./deploy-render.ts";
import { until } from "./until.ts";

const FS_GROUP = 65532;
function whyNot(): string | undefined {
  if (process.getuid?.() !== 0) return "needs root for network namespaces and capabilities (CI runs as root)";
  for (const [cmd, arg] of [
    ["ip", "-V"],
    ["setpriv", "--version"],
    ["nft", "--version"],
  ]) {
    if (spawnSync(cmd!, [arg!]).error) return `${cmd} is not installed`;
  }
  return kubectlMissing();
}
const skip = whyNot();

let slot = -1;
let ns = "";
let dir = "";
let socket = "";
let agent: ChildProcess | undefined;
let rules: Container;
let logs = "";

const RULES: NodeRules = {
  noEndpoints: [{ family: "ipv4", protocol: "tcp", ip: "10.96.0.10", port: 80, verdict: "reject" }],
  firewall: [{ family: "ipv4", protocol: "tcp", ip: "203.0.113.9", port: 443, allow: ["10.0.0.0/8"] }],
  hairpin: [{ family: "ipv4", ip: "10.244.1.5" }],
};

const nft = (...args: string[]) =>
  spawnSync("ip", ["netns", "exec", ns, "nft", ...args], { encoding: "utf8" });

before(async () => {
  if (skip) return;
  rules = daemonSet(render("deploy")).rules;
  slot = claimSlot();
  ns = `${PREFIX}${slot}-rules`;
  spawnSync("ip", ["netns", "add", ns]);
  dir = mkdtempSync(join(tmpdir(), "node-rules-"));
  // The emptyDir as kubelet makes it with an fsGroup: group-owned, setgid.
  chownSync(dir, 0, FS_GROUP);
  chmodSync(dir, 0o2770);
  socket = join(dir, "agent.sock");
  const sc = rules.securityContext!;
  const caps = ["-all", ...(sc.capabilities?.add ?? []).map((c) => `+${c.toLowerCase()}`)].join(",");
  const argv = rules.args!.map((a) => a.replace("/run/kube-nftlb-rules/agent.sock", socket));
  agent = spawn(
    "ip",
    ["netns", "exec", ns, "setpriv", `--reuid=${sc.runAsUser}`, `--regid=${sc.runAsGroup}`]
      .concat([`--groups=${FS_GROUP}`, `--bounding-set=${caps}`, `--inh-caps=${caps}`])
      .concat(sc.allowPrivilegeEscalation === false ? ["--no-new-privs"] : [])
      .concat(["--", process.execPath, join(ROOT, "bin", "kube-nftlb.js"), ...argv]),
    { stdio: ["ignore", "pipe", "pipe"] },
  );
  agent.stdout!.on("data", (d: Buffer) => (logs += d.toString()));
  agent.stderr!.on("data", (d: Buffer) => (logs += d.toString()));
  await until("the agent listens", () => logs.includes("node-rules agent listening"), 20_000);
});

after(() => {
  if (skip) return;
  agent?.kill("SIGTERM");
  spawnSync("ip", ["netns", "del", ns]);
  rmSync(dir, { recursive: true, force: true });
  if (slot >= 0) releaseSlot(slot);
});

/** One raw request line to the agent, its raw answer. */
const raw = (line: string) =>
  new Promise<string>((resolve, reject) => {
    const s = net.connect(socket);
    let out = "";
    s.setEncoding("utf8");
    s.on("data", (d: string) => {
      out += d;
      if (out.includes("\n")) {
        s.destroy();
        resolve(out.trim());
      }
    });
    s.on("error", reject);
    s.write(`${line}\n`);
  });

test("the agent runs with NET_ADMIN alone and makes its socket group read-write", { skip }, () => {
  const status = readFileSync(`/proc/${agent!.pid}/status`, "utf8");
  assert.match(status, /^CapEff:\s+0000000000001000$/m, "effective: CAP_NET_ADMIN (bit 12) only");
  assert.match(status, /^CapBnd:\s+0000000000001000$/m, "and nothing more can be gained");
  const st = statSync(socket);
  assert.equal(st.mode & 0o777, 0o660);
  assert.equal(st.gid, FS_GROUP);
});

test(
  "the syncer's side applies, lists and removes table inet kube-nftlb; nothing else is touched",
  { skip },
  async () => {
    nft("add", "table", "ip", "someone-else");
    const t = socketTable(socket);
    assert.deepEqual(await t.apply(RULES), { ok: true });
    const listed = nft("list", "table", "inet", "kube-nftlb").stdout;
    assert.match(listed, /10\.96\.0\.10 \. tcp \. 80 : goto reject-chain/);
    assert.match(listed, /ip saddr != 10\.0\.0\.0\/8 drop/);
    assert.match(listed, /10\.244\.1\.5 \. 10\.244\.1\.5/);
    assert.deepEqual(await t.exists(), { ok: true, value: true });
    assert.deepEqual(await t.remove(), { ok: true });
    assert.deepEqual(await t.exists(), { ok: true, value: false });
    assert.deepEqual(await t.remove(), { ok: true }, "removing twice is harmless");
    assert.match(nft("list", "tables").stdout, /table ip someone-else/);
  },
);

test("garbage on the socket: a reason, nothing applied, the agent still answers", { skip }, async () => {
  const bad: [string, RegExp][] = [
    ["hello", /not JSON/],
    ['{"op":"flush ruleset"}', /op: "apply", "exists" or "remove"/],
    ['{"op":"apply"}', /rules: an object/],
    [
      '{"op":"apply","rules":{"noEndpoints":[{"family":"ipv4","protocol":"tcp","ip":"10.0.0.999","port":80,"verdict":"reject"}],"firewall":[],"hairpin":[]}}',
      /noEndpoints\[0\]\.ip: not a canonical ipv4 address/,
    ],
    [
      '{"op":"apply","rules":{"noEndpoints":[{"family":"ipv4","protocol":"tcp","ip":"10.0.0.1","port":80,"verdict":"accept"}],"firewall":[],"hairpin":[]}}',
      /verdict: reject or drop/,
    ],
    [
      '{"op":"apply","rules":{"noEndpoints":[],"firewall":[{"family":"ipv4","protocol":"tcp","ip":"10.0.0.1","port":80,"allow":["0.0.0.0/0; flush ruleset"]}],"hairpin":[]}}',
      /allow\[0\]: not a canonical ipv4 CIDR/,
    ],
    ['{"op":"apply","rules":{"noEndpoints":[],"firewall":[]}}', /arrays noEndpoints, firewall and hairpin/],
    [
      '{"op":"apply","rules":{"noEndpoints":[],"firewall":[],"hairpin":[{"family":"ipv4","ip":"10.0.0.1 . 0.0.0.0/0"}]}}',
      /hairpin\[0\]\.ip: not a canonical ipv4 address/,
    ],
  ];
  for (const [line, reason] of bad) {
    const answer = JSON.parse(await raw(line)) as { ok: boolean; error?: string };
    assert.equal(answer.ok, false, line);
    assert.match(answer.error ?? "", reason, line);
  }
  assert.equal(nft("list", "table", "inet", "kube-nftlb").status, 1, "no table was made");
  assert.deepEqual(await socketTable(socket).exists(), { ok: true, value: false });
  const check = spawnSync(
    process.execPath,
    [join(ROOT, "bin", "kube-nftlb.js"), "node-rules", "--check", `--socket=${socket}`],
    {
      encoding: "utf8",
    },
  );
  assert.equal(check.status, 0, check.stderr);
});

test("no agent: the syncer's side gets an error value, and --check fails", { skip }, async () => {
  const r = await socketTable(join(dir, "nobody.sock")).exists();
  assert.equal(r.ok, false);
  if (!r.ok) assert.match(r.error, /ENOENT/);
  const check = spawnSync(
    process.execPath,
    [join(ROOT, "bin", "kube-nftlb.js"), "node-rules", "--check", `--socket=${join(dir, "nobody.sock")}`],
    { encoding: "utf8" },
  );
  assert.equal(check.status, 1);
});
