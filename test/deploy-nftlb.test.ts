// The DaemonSet's nftlb side, run as the manifest says, on the real nftlb 1.0.7 in a network
// namespace: the init container's script makes the key as uid 65532, the nftlb container's script
// starts the daemon as uid 0 with exactly the manifest's capabilities (no CAP_DAC_OVERRIDE: it
// reads the key through the fsGroup), its probe command answers, the key never reaches the
// output, and the capability set is the one nftlb needs (NET_RAW for dsr, proven by removing it).
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { chmodSync, chownSync, mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { daemonSet, kubectlMissing, render, type Container } from "./deploy-render.ts";
import { until } from "./until.ts";

const FS_GROUP = 65532;
const NS = `dnft${process.pid}`;
const BACKEND_NS = `dnfb${process.pid}`;
const VETH = `vdl${process.pid}`;

function whyNot(): string | undefined {
  if (process.getuid?.() !== 0) return "needs root for network namespaces and capabilities (CI runs as root)";
  for (const [cmd, arg] of [
    ["ip", "-V"],
    ["setpriv", "--version"],
    ["nftlb", "-h"],
    ["bash", "--version"],
  ]) {
    if (spawnSync(cmd!, [arg!]).error) return `${cmd} is not installed`;
  }
  return kubectlMissing();
}
const skip = whyNot();

const sh = (cmd: string, args: string[]) => {
  const r = spawnSync(cmd, args, { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(" ")}: ${r.stderr}`);
  return r.stdout;
};

let ds: ReturnType<typeof daemonSet>;
let dir: string;
let mountPath: string;
/** A manifest string with the key volume's mountPath moved to this test's directory. */
const here = (s: string) => s.replaceAll(mountPath, dir);

/** setpriv arguments that give a process what the manifest gives the container. */
function asContainer(c: Container, caps: string[]): string[] {
  const sc = c.securityContext ?? {};
  const uid = sc.runAsUser ?? ds.pod.securityContext?.runAsUser ?? 0;
  const gid = sc.runAsGroup ?? uid;
  const set = ["-all", ...caps.map((x) => `+${x.toLowerCase()}`)].join(",");
  return [
    `--reuid=${uid}`,
    `--regid=${gid}`,
    `--groups=${FS_GROUP}`,
    `--bounding-set=${set}`,
    `--inh-caps=${set}`,
    ...(sc.allowPrivilegeEscalation === false ? ["--no-new-privs"] : []),
    "--",
  ];
}

interface Daemon {
  proc: ChildProcess;
  output: () => string;
  stop: () => Promise<number | null>;
}
function startNftlb(caps: string[], script = ds.nftlb.args!.join("\n")): Daemon {
  const argv = [
    "ip",
    "netns",
    "exec",
    NS,
    "setpriv",
    ...asContainer(ds.nftlb, caps),
    ...ds.nftlb.command!,
    here(script),
  ];
  // readOnlyRootFilesystem: a private mount namespace whose root is remounted read-only.
  const readOnly = ds.nftlb.securityContext?.readOnlyRootFilesystem === true;
  const proc = spawn(
    readOnly ? "unshare" : argv[0]!,
    readOnly
      ? ["--mount", "--", "sh", "-c", 'mount -o remount,bind,ro / && exec "$@"', "sh", ...argv]
      : argv.slice(1),
    {
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  let out = "";
  proc.stdout.on("data", (b: Buffer) => (out += b.toString()));
  proc.stderr.on("data", (b: Buffer) => (out += b.toString()));
  const exited = new Promise<number | null>((resolve) => proc.on("exit", (code) => resolve(code)));
  return {
    proc,
    output: () => out,
    stop: async () => {
      proc.kill("SIGTERM");
      return exited;
    },
  };
}

/** Runs the manifest's probe command inside the pod's view; true when it exits 0. */
function probe(
  kind: "livenessProbe" | "readinessProbe",
  caps = ds.nftlb.securityContext!.capabilities!.add!,
): boolean {
  const command = ds.nftlb[kind]!.exec!.command.map(here);
  return (
    spawnSync("ip", ["netns", "exec", NS, "setpriv", ...asContainer(ds.nftlb, caps), ...command]).status === 0
  );
}

const nftlbApi = (method: string, path: string, body?: string) =>
  sh("ip", [
    "netns",
    "exec",
    NS,
    "curl",
    "-s",
    "-X",
    method,
    "-H",
    `Key: ${readFileSync(join(dir, "key"), "utf8")}`,
    ...(body ? ["--data-binary", body] : []),
    `http://127.0.0.1:5555${path}`,
  ]);

const dsrFarm = JSON.stringify({
  farms: [
    {
      name: "default.dsr.http",
      family: "ipv4",
      "virtual-addr": "10.213.0.1",
      "virtual-ports": "80",
      mode: "dsr",
      protocol: "tcp",
      state: "up",
      backends: [{ name: "pod-a", "ip-addr": "10.213.0.2", state: "up" }],
    },
  ],
});
const sourceMac = () =>
  /ether saddr set ([0-9a-f:]{17})/.exec(sh("ip", ["netns", "exec", NS, "nft", "list", "ruleset"]))?.[1];

describe("the DaemonSet's nftlb container on the real nftlb", { skip }, () => {
  let daemon: Daemon | undefined;
  before(() => {
    ds = daemonSet(render("deploy"));
    mountPath = ds.key.volumeMounts!.find((m) => m.name === "nftlb-key")!.mountPath;
    // The kubelet's emptyDir with fsGroup: group-owned by the fsGroup, setgid, group-writable.
    dir = mkdtempSync(join(tmpdir(), "deploy-nftlb-"));
    chownSync(dir, 0, FS_GROUP);
    chmodSync(dir, 0o2770);
    spawnSync("ip", ["netns", "del", NS]);
    spawnSync("ip", ["netns", "del", BACKEND_NS]);
    sh("ip", ["netns", "add", NS]);
    sh("ip", ["netns", "add", BACKEND_NS]);
    sh("ip", ["-n", NS, "link", "set", "lo", "up"]);
    sh("ip", [
      "-n",
      NS,
      "link",
      "add",
      VETH,
      "type",
      "veth",
      "peer",
      "name",
      `${VETH}b`,
      "netns",
      BACKEND_NS,
    ]);
    sh("ip", ["-n", NS, "addr", "add", "10.213.0.1/24", "dev", VETH]);
    sh("ip", ["-n", NS, "link", "set", VETH, "up"]);
    sh("ip", ["-n", BACKEND_NS, "addr", "add", "10.213.0.2/24", "dev", `${VETH}b`]);
    sh("ip", ["-n", BACKEND_NS, "link", "set", `${VETH}b`, "up"]);
  });
  after(async () => {
    await daemon?.stop();
    spawnSync("ip", ["netns", "del", NS]);
    spawnSync("ip", ["netns", "del", BACKEND_NS]);
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("the init container writes a fresh 64-hex-digit key, 0640, readable through the fsGroup", () => {
    const r = spawnSync(
      "setpriv",
      [...asContainer(ds.key, []), ...ds.key.command!, here(ds.key.args!.join("\n"))],
      {
        encoding: "utf8",
      },
    );
    assert.equal(r.status, 0, r.stderr);
    const key = readFileSync(join(dir, "key"), "utf8");
    assert.match(key, /^[0-9a-f]{64}$/);
    const st = statSync(join(dir, "key"));
    assert.equal(st.mode & 0o777, 0o640);
    assert.equal(st.uid, ds.key.securityContext!.runAsUser);
    assert.equal(st.gid, FS_GROUP);
  });

  it("nftlb starts with the manifest's command, capabilities and read-only root; its probes pass", async () => {
    daemon = startNftlb(ds.nftlb.securityContext!.capabilities!.add!);
    await until("the readiness probe", () => probe("readinessProbe"));
    assert.ok(probe("livenessProbe"));
    assert.equal(nftlbApi("GET", "/farms").includes('"farms"'), true);
  });

  it("the probe fails when nftlb refuses the key (it is not a bare port check)", () => {
    const command = ds.nftlb.readinessProbe!.exec!.command.map((s) =>
      s.replace(`${mountPath}/key`, "/dev/null"),
    );
    const r = spawnSync("ip", [
      "netns",
      "exec",
      NS,
      "setpriv",
      ...asContainer(ds.nftlb, ["NET_ADMIN"]),
      ...command,
    ]);
    assert.notEqual(r.status, 0);
  });

  it("with NET_ADMIN and NET_RAW a dsr farm gets the interface's real MAC", () => {
    assert.match(nftlbApi("POST", "/farms", dsrFarm), /success/);
    const mac = sourceMac();
    assert.ok(mac && mac !== "00:00:00:00:00:00", `source MAC ${mac}`);
  });

  it("SIGTERM stops nftlb (exec: the daemon is the process), and the key is not in its output", async () => {
    const stopped = daemon!;
    daemon = undefined;
    assert.equal(await stopped.stop(), 0);
    // Checked after exit: nftlb's stdout (where it prints the key) is flushed only then.
    assert.ok(
      !stopped.output().includes(readFileSync(join(dir, "key"), "utf8")),
      "the key is in nftlb's output",
    );
  });

  it("without NET_RAW the same dsr farm is programmed with MAC 00:00:00:00:00:00: NET_RAW is needed", async () => {
    daemon = startNftlb(["NET_ADMIN"]);
    await until("the readiness probe", () => probe("readinessProbe", ["NET_ADMIN"]));
    assert.match(nftlbApi("POST", "/farms", dsrFarm), /success/);
    assert.equal(sourceMac(), "00:00:00:00:00:00");
  });

  it("run bare, nftlb would print its key: the manifest's `>/dev/null` is what keeps it out", async () => {
    await daemon?.stop();
    const bare = ds.nftlb.args!.join("\n").replace(">/dev/null", "");
    daemon = startNftlb(ds.nftlb.securityContext!.capabilities!.add!, bare);
    await until("the readiness probe", () => probe("readinessProbe"));
    // stdout is a pipe, as under a container runtime: the line is flushed when nftlb exits.
    await daemon.stop();
    assert.ok(daemon.output().includes(readFileSync(join(dir, "key"), "utf8")));
    daemon = undefined;
  });
});
