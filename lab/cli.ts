// npm run lab -- up|down [--dir DIR]: the whole system on one machine (see docs/lab.md).
// `up` starts a detached supervisor (`supervise`, not for users) that runs the lab and writes
// DIR/lab.json once everything is ready; `down` stops it and checks nothing is left behind.
import { spawn } from "node:child_process";
import { existsSync, mkdirSync, openSync, closeSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import process from "node:process";
import { emit, parseFlags, usageError } from "../flags/flags.ts";
import { cannotBuildNetwork } from "./net/sys.ts";
import { NODE } from "./net/sys.ts";
import { alive, claim, cleanDir, files, lockPid, readInfo, setLock, writeInfo } from "./cluster/lab-dir.ts";
import { leftovers, removeLab } from "./cluster/teardown.ts";
import type { LabInfo } from "./cluster/info.ts";

const HELP = `Usage: npm run lab -- <up|down> [--dir DIR] [flags]

The whole of kube-nftlb on one machine: a Kubernetes API stand-in, a node network namespace
running the real nftlb and the syncer, the admission webhook (certificates from
\`kube-nftlb certs ensure\`), Pods as network namespaces, Deployment/ReplicaSet and EndpointSlice
controllers, and a client namespace to send traffic from. Needs root and Linux network namespaces. See docs/lab.md.

Commands:
  up      start a lab and return once it is ready; it keeps running in the background.
          Writes DIR/kubeconfig and DIR/lab.json (nftlb URL, key and namespace, client
          namespace, node, pids); logs in DIR/logs/. Refuses if DIR already has a lab.
  down    stop the lab of DIR and remove every namespace, veth, process and nftables table it
          made (and check that none is left).

Flags:
  --dir DIR                 the lab's directory (default ${path.join(tmpdir(), "kube-nftlb-lab")})
  --pod-ready-delay MS      up: default delay from a Pod's start to Ready (default 0)
  --termination-delay MS    up: how long a deleted Pod stays terminating (default 2000)
  --nodes N                 up: 1 or 2 nodes, each with its own nftlb and syncer; Pods are
                            spread over them (default 1)
  -h, --help                show this help
      --version             print kube-nftlb's version

Exit status: 0 done, 1 failed (the reason is printed), 2 usage error.`;

const fail = (msg: string) => {
  console.error(`lab: ${msg}`);
  return 1;
};

const ms = (raw: string | undefined, flag: string, dflt: number): number | string => {
  if (raw === undefined) return dflt;
  return /^\d{1,7}$/.test(raw) ? Number(raw) : `${flag} must be a whole number of milliseconds, got "${raw}"`;
};

function nextSteps(i: LabInfo): string {
  const kc = `kubectl --kubeconfig ${i.kubeconfig}`;
  return `lab is up (${i.dir}/lab.json)
  API server      ${i.apiServer}
${i.nodes
  .map(
    (n) => `  node            ${n.name} (${n.addresses.InternalIP}), network namespace ${n.netns}
  nftlb           ${n.nftlb.url}, key in ${n.nftlb.keyFile}`,
  )
  .join("\n")}
  client          network namespace ${i.client.netns}, addresses ${i.client.addresses.join(" ")}
  logs            ${i.dir}/logs/

Try:
  ${kc} apply -f examples/lab/
  ${kc} wait --for=condition=Ready pod/web-0 pod/web-1
  ${kc} get pods,svc,endpointslices -o wide
  ip netns exec ${i.client.netns} curl -sS --max-time 2 http://$(${kc} get svc web -o jsonpath='{.spec.clusterIP}')/
  curl -sS -H "Key: $(cat ${i.nftlb.keyFile})" ${i.nftlb.url}/farms/default.web.http
  npm run lab -- down --dir ${i.dir}`;
}

async function up(dir: string, readyDelay: number, terminationDelay: number, nodes: number): Promise<number> {
  const why = cannotBuildNetwork();
  if (why !== undefined) return fail(`cannot start a lab here: ${why}`);
  mkdirSync(path.join(dir, "logs"), { recursive: true });
  if (!claim(dir, process.pid)) {
    const pid = lockPid(dir);
    if (pid !== undefined && alive(pid))
      return fail(
        `a lab is already running in ${dir} (supervisor pid ${pid}); stop it first: npm run lab -- down --dir ${dir}`,
      );
    // The last lab of this directory died without cleaning up: clean now, then claim.
    const info = readInfo(dir);
    if (info.ok) removeLab(info.info);
    cleanDir(dir);
    console.error(`lab: removed the remains of a lab that died in ${dir}`);
    if (!claim(dir, process.pid)) return fail(`${dir} was claimed by another lab meanwhile`);
  }
  const f = files(dir);
  const out = openSync(f.log, "a", 0o600);
  const child = spawn(
    NODE,
    [
      path.join(path.dirname(new URL(import.meta.url).pathname), "cli.ts"),
      "supervise",
      "--dir",
      dir,
      "--pod-ready-delay",
      String(readyDelay),
      "--termination-delay",
      String(terminationDelay),
      "--nodes",
      String(nodes),
    ],
    { detached: true, stdio: ["ignore", out, out] },
  );
  closeSync(out);
  setLock(dir, child.pid ?? 0);
  let exitCode: number | null = null;
  child.once("exit", (code) => (exitCode = code ?? 1));
  const deadline = Date.now() + 180_000;
  while (!existsSync(f.info)) {
    if (exitCode !== null || Date.now() > deadline) {
      if (exitCode === null) child.kill("SIGTERM");
      const reason = existsSync(f.error) ? readFileSync(f.error, "utf8") : `see ${f.log}`;
      return fail(`the lab did not start: ${reason}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  child.unref();
  const info = readInfo(dir);
  if (!info.ok) return fail(info.error);
  console.log(nextSteps(info.info));
  return 0;
}

async function supervise(
  dir: string,
  readyDelay: number,
  terminationDelay: number,
  nodes: number,
): Promise<number> {
  const { startCluster } = await import("./cluster/cluster.ts");
  const f = files(dir);
  const log = (l: string) => console.log(`${new Date().toISOString()} ${l}`);
  let cluster;
  try {
    cluster = await startCluster({
      dir,
      podReadyDelayMs: readyDelay,
      terminationDelayMs: terminationDelay,
      nodes,
      log,
    });
  } catch (err) {
    const msg = (err as Error).message;
    log(`failed: ${msg}`);
    writeFileSync(f.error, msg);
    return 1;
  }
  const c = cluster;
  await new Promise<void>((resolve) => {
    let stopping = false;
    const stop = (sig: string) => {
      if (stopping) return;
      stopping = true;
      log(`${sig}: stopping`);
      void c.stop().then(resolve);
    };
    process.on("SIGTERM", () => stop("SIGTERM"));
    process.on("SIGINT", () => stop("SIGINT"));
    process.on("SIGHUP", () => stop("SIGHUP"));
    writeInfo(dir, c.info);
    log("ready");
  });
  log("stopped");
  return 0;
}

async function down(dir: string): Promise<number> {
  const info = readInfo(dir);
  const pid = info.ok ? info.info.pids.supervisor : lockPid(dir);
  if (pid === undefined) {
    cleanDir(dir);
    console.log(`lab: no lab in ${dir}; nothing to stop`);
    return 0;
  }
  if (alive(pid)) {
    process.kill(pid, "SIGTERM");
    const deadline = Date.now() + 30_000;
    while (alive(pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    if (alive(pid)) {
      console.error(`lab: supervisor ${pid} did not stop in 30 s; killing it`);
      process.kill(pid, "SIGKILL");
    }
  }
  if (info.ok) removeLab(info.info);
  cleanDir(dir);
  const left = info.ok ? leftovers(info.info) : [];
  if (left.length > 0) return fail(`these remain after down: ${left.join(", ")}`);
  console.log(`lab: stopped; nothing left behind (logs kept in ${path.join(dir, "logs")})`);
  return 0;
}

const FLAGS = {
  command: "npm run lab --",
  prefix: "lab",
  help: HELP,
  positionals: true,
  options: {
    dir: { type: "string", default: path.join(tmpdir(), "kube-nftlb-lab") },
    "pod-ready-delay": { type: "string" },
    "termination-delay": { type: "string" },
    nodes: { type: "string", default: "1" },
  },
} as const;

const usage = (message: string): number => emit(usageError(FLAGS, message));

export async function main(argv: string[]): Promise<number> {
  const parsed = parseFlags(FLAGS, argv);
  if (!parsed.ok) return emit(parsed.exit);
  const { values, positionals } = parsed;
  const [cmd, ...rest] = positionals;
  if (cmd === undefined || rest.length > 0 || !["up", "down", "supervise"].includes(cmd))
    return usage(`expected one command, up or down; got "${positionals.join(" ")}"`);
  const readyDelay = ms(values["pod-ready-delay"], "--pod-ready-delay", 0);
  const terminationDelay = ms(values["termination-delay"], "--termination-delay", 2000);
  if (typeof readyDelay === "string") return usage(readyDelay);
  if (typeof terminationDelay === "string") return usage(terminationDelay);
  if (values.dir === "") return usage("--dir must not be empty");
  if (values.nodes !== "1" && values.nodes !== "2")
    return usage(`--nodes must be 1 or 2, got "${values.nodes}"`);
  const nodes = Number(values.nodes);
  const dir = path.resolve(values.dir);
  if (cmd === "up") return up(dir, readyDelay, terminationDelay, nodes);
  if (cmd === "down") return down(dir);
  return supervise(dir, readyDelay, terminationDelay, nodes);
}

if (import.meta.main) process.exitCode = await main(process.argv.slice(2));
