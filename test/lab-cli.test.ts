// `npm run lab -- up|down`: the detached lab starts, answers kubectl, refuses a second `up` on
// the same directory, and `down` leaves no namespace, veth, process or nftables table behind;
// a lab whose supervisor was killed is cleaned by the next `up`. Plus --help and bad input.
import { after, describe, it } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import process from "node:process";
import { whyNoLab } from "./lab-fixture.ts";
import type { LabInfo } from "../lab/cluster/info.ts";
import { until } from "./until.ts";

const ROOT = path.join(import.meta.dirname, "..");
const CLI = path.join(ROOT, "lab", "cli.ts");
/**
 * argv run as nobody. The checkout may sit in a private (0700) directory nobody cannot enter, so
 * it is bind-mounted, in a mount namespace of its own, under a directory nobody can traverse.
 */
const asNobody = (argv: string[]): { argv: string[]; view: string } => {
  const view = mkdtempSync(path.join(tmpdir(), "kube-nftlb-lab-cli-view-"));
  chmodSync(view, 0o755);
  const at = (p: string) => (p.startsWith(`${ROOT}/`) ? path.join(view, path.relative(ROOT, p)) : p);
  const script =
    'mount --bind "$1" "$2" && shift 2 && exec setpriv --reuid=65534 --regid=65534 --clear-groups "$@"';
  return {
    argv: [
      "unshare",
      "--mount",
      "--propagation",
      "private",
      "sh",
      "-c",
      script,
      "sh",
      ROOT,
      view,
      ...argv.map(at),
    ],
    view,
  };
};
const lab = (args: string[], nobody = false) =>
  new Promise<{ code: number; out: string }>((resolve) => {
    const run = nobody ? asNobody([process.execPath, CLI, ...args]) : undefined;
    const [cmd, ...rest] = run?.argv ?? [process.execPath, CLI, ...args];
    execFile(cmd!, rest, { timeout: 240_000 }, (err, stdout, stderr) => {
      // The mount went with its namespace: the view is an empty directory again.
      if (run) rmSync(run.view, { recursive: true, force: true });
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, out: stdout + stderr });
    });
  });
const sh = (argv: string[]) =>
  new Promise<string>((resolve) => execFile(argv[0]!, argv.slice(1), (_e, out) => resolve(out)));
const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

/** What of a lab is still on the machine. */
async function remains(info: LabInfo): Promise<string[]> {
  const left: string[] = [];
  for (const ns of (await sh(["ip", "netns", "list"])).split("\n"))
    if (ns.startsWith(info.namespacePrefix)) left.push(`netns ${ns.split(" ")[0]}`);
  if ((await sh(["ip", "-o", "link", "show"])).includes(`knl${info.slot}-api`)) left.push("veth");
  for (const [name, pid] of Object.entries(info.pids)) if (alive(pid)) left.push(`process ${name}`);
  // nftlb's tables live in the node namespace: if that namespace is gone, so are they; if not,
  // the namespace is reported above. Check the host has no nftlb table either.
  if ((await sh(["nft", "list", "tables"])).includes("nftlb")) left.push("nftlb table in the host namespace");
  return left;
}

describe("lab CLI: usage", () => {
  it("--help says what up and down do", async () => {
    const r = await lab(["--help"]);
    assert.equal(r.code, 0);
    assert.match(r.out, /Usage: npm run lab -- <up\|down>/);
    assert.match(r.out, /lab\.json/);
  });
  it("garbage is a usage error that says what is wrong", async () => {
    for (const [args, msg] of [
      [[], /expected one command, up or down/],
      [["start"], /expected one command, up or down; got "start"/],
      [["up", "down"], /expected one command/],
      [
        ["up", "--pod-ready-delay", "soon"],
        /--pod-ready-delay must be a whole number of milliseconds, got "soon"/,
      ],
      [["up", "--termination-delay=-5"], /--termination-delay must be a whole number/],
      [["up", "--nodes", "3"], /--nodes must be 1 or 2, got "3"/],
      [["up", "--nodes=two"], /--nodes must be 1 or 2, got "two"/],
      [["up", "--frobnicate"], /^lab: unknown flag --frobnicate; run `npm run lab -- --help`\n$/],
      [["up", "--dir", ""], /--dir must not be empty/],
    ] as const) {
      const r = await lab([...args]);
      assert.equal(r.code, 2, args.join(" "));
      assert.match(r.out, msg, args.join(" "));
      assert.equal(r.out.trimEnd().split("\n").length, 1, `one line, not the usage: ${r.out}`);
    }
  });
  it("down of a directory without a lab says so", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), "kube-nftlb-lab-empty-"));
    const r = await lab(["down", "--dir", dir]);
    rmSync(dir, { recursive: true, force: true });
    assert.equal(r.code, 0);
    assert.match(r.out, /no lab in .*nothing to stop/);
  });
});

describe("lab CLI: up and down", { skip: whyNoLab() ?? false, timeout: 300_000 }, () => {
  const dir = mkdtempSync(path.join(tmpdir(), "kube-nftlb-lab-cli-"));
  after(async () => {
    if (existsSync(path.join(dir, "lab.lock"))) await lab(["down", "--dir", dir]);
    rmSync(dir, { recursive: true, force: true });
  });

  it("without root it says so and exits non-zero", async () => {
    const r = await lab(["up", "--dir", path.join(dir, "nobody")], true);
    assert.equal(r.code, 1, r.out);
    assert.match(r.out, /cannot start a lab here: needs root/);
  });

  it("up (two nodes) starts a lab that kubectl reaches; a second up refuses; down leaves nothing", async () => {
    const up = await lab(["up", "--dir", dir, "--nodes", "2"]);
    assert.equal(up.code, 0, up.out);
    assert.match(up.out, /lab is up/);
    assert.match(up.out, /kubectl --kubeconfig .* apply -f examples\/lab\//);
    const info = JSON.parse(readFileSync(path.join(dir, "lab.json"), "utf8")) as LabInfo;
    assert.ok(info.nftlb.url && info.nftlb.key && info.nftlb.netns && info.client.netns && info.node.name);
    assert.ok(alive(info.pids.supervisor) && alive(info.pids.syncer) && alive(info.pids.webhook));
    assert.ok(info.pids.syncer2 !== undefined && alive(info.pids.syncer2), "node 2's syncer runs");
    const nodes = await sh(["kubectl", "--kubeconfig", info.kubeconfig, "get", "nodes", "-o", "name"]);
    assert.equal(nodes.trim(), `node/${info.node.name}\nnode/${info.node.name}-2`);
    // A Service, so that nftlb has tables and rules in the kernel for down to remove.
    const examples = path.join(import.meta.dirname, "..", "examples", "lab");
    await sh(["kubectl", "--kubeconfig", info.kubeconfig, "apply", "-f", examples]);
    await until(
      "nftlb's tables in the node namespace",
      async () =>
        (await sh(["ip", "netns", "exec", info.nftlb.netns, "nft", "list", "tables"])).includes("nftlb"),
      { timeoutMs: 30_000, intervalMs: 100 },
    );

    const again = await lab(["up", "--dir", dir]);
    assert.equal(again.code, 1);
    assert.match(
      again.out,
      new RegExp(`a lab is already running in ${dir} \\(supervisor pid ${info.pids.supervisor}\\)`),
    );
    assert.ok(alive(info.pids.supervisor), "the refused up left the running lab alone");

    const down = await lab(["down", "--dir", dir]);
    assert.equal(down.code, 0, down.out);
    assert.match(down.out, /nothing left behind/);
    assert.deepEqual(await remains(info), []);
    for (const f of ["lab.json", "nftlb.key", "nftlb-2.key"]) assert.ok(!existsSync(path.join(dir, f)), f);
  });

  it("a lab whose supervisor was killed is removed by the next up in its directory", async () => {
    const first = await lab(["up", "--dir", dir]);
    assert.equal(first.code, 0, first.out);
    const dead = JSON.parse(readFileSync(path.join(dir, "lab.json"), "utf8")) as LabInfo;
    process.kill(dead.pids.supervisor, "SIGKILL");
    await until("the killed supervisor gone", () => !alive(dead.pids.supervisor), {
      timeoutMs: 10_000,
      intervalMs: 20,
    });
    assert.ok((await remains(dead)).length > 0, "a killed supervisor leaves its namespaces");

    const second = await lab(["up", "--dir", dir]);
    assert.equal(second.code, 0, second.out);
    assert.match(second.out, /removed the remains of a lab that died/);
    assert.deepEqual(await remains(dead), [], "the dead lab's namespaces and processes are gone");
    const down = await lab(["down", "--dir", dir]);
    assert.equal(down.code, 0, down.out);
  });
});
