// The runtime image's content without a container engine: the test builds the layout the
// Dockerfile's runtime stage assembles (tsc build output, package.json, bin/, `npm ci --omit=dev`)
// in a temporary directory, runs the Dockerfile's ENTRYPOINT from it, and starts the webhook
// with the arguments and files the webhook Deployment gives it. A dev dependency needed at run
// time, a file the build does not emit, or a wrong flag in the manifest fails here.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import {
  chmodSync,
  chownSync,
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { request } from "node:https";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createCa } from "../lab/pki/ca.ts";
import { parseSize } from "../syncer/config.ts";
import { TEST_ONLY } from "../scripts/layout.ts";
import { ROOT, daemonSet, find, kubectlMissing, render, workloads } from "./deploy-render.ts";
import { until } from "./until.ts";

const dockerfile = readFileSync(join(ROOT, "Dockerfile"), "utf8");

/** The instructions of one stage of the Dockerfile, continuation lines joined. */
function stage(name: string): string[] {
  const lines = dockerfile
    .replace(/\\\n/g, " ")
    .split("\n")
    .map((l) => l.trim());
  const start = lines.findIndex((l) => new RegExp(`^FROM .* AS ${name}$`, "i").test(l));
  assert.ok(start >= 0, `no stage ${name} in the Dockerfile`);
  const end = lines.findIndex((l, i) => i > start && /^FROM /i.test(l));
  return lines.slice(start + 1, end < 0 ? undefined : end).filter((l) => l !== "" && !l.startsWith("#"));
}

function whyNot(): string | undefined {
  if (spawnSync("npm", ["--version"]).error) return "npm is not installed";
  return kubectlMissing();
}
const skip = whyNot();

let app: string;
let nodeDir: string;
let webhook: ChildProcess | undefined;
let webhookOut = "";

/** Runs a command to completion; the build and the install run side by side to save time. */
function exec(cmd: string, args: string[], cwd: string): Promise<{ status: number | null; output: string }> {
  return new Promise((resolve) => {
    const p = spawn(cmd, args, { cwd, stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    p.stdout.on("data", (b: Buffer) => (output += b.toString()));
    p.stderr.on("data", (b: Buffer) => (output += b.toString()));
    p.on("error", (err) => resolve({ status: null, output: String(err) }));
    p.on("exit", (status) => resolve({ status, output }));
  });
}

before(async () => {
  if (skip) return;
  app = mkdtempSync(join(tmpdir(), "deploy-image-"));
  cpSync(join(ROOT, "bin"), join(app, "bin"), { recursive: true });
  // The image's node lives outside /app, readable by its USER; the checkout's may not be (a
  // clone in a private 0700 directory), so it gets a copy of its own beside the layout.
  nodeDir = mkdtempSync(join(tmpdir(), "deploy-image-node-"));
  chmodSync(nodeDir, 0o755);
  cpSync(process.execPath, join(nodeDir, "node"));
  chmodSync(join(nodeDir, "node"), 0o755);
  for (const f of ["package.json", "package-lock.json"]) cpSync(join(ROOT, f), join(app, f));
  const deps = stage("deps").find((l) => l.startsWith("RUN npm ci"));
  assert.ok(deps?.includes("--omit=dev"), "the deps stage installs production dependencies only");
  const [tsc, ci] = await Promise.all([
    // The build stage's `npm run build` (tsc -p tsconfig.build.json), into the layout's dist/.
    exec(
      process.execPath,
      [
        join(ROOT, "node_modules/typescript/bin/tsc"),
        "-p",
        join(ROOT, "tsconfig.build.json"),
        "--outDir",
        join(app, "dist"),
      ],
      ROOT,
    ),
    // The deps stage, same flags; --prefer-offline reuses the cache the repository's `npm ci` filled.
    exec("npm", ["ci", "--omit=dev", "--ignore-scripts", "--prefer-offline", "--no-audit", "--no-fund"], app),
  ]);
  assert.equal(tsc.status, 0, `the TypeScript build failed:\n${tsc.output}`);
  assert.equal(ci.status, 0, `npm ci --omit=dev failed:\n${ci.output}`);
  rmSync(join(app, "package-lock.json"));
});

after(async () => {
  if (webhook && webhook.exitCode === null) {
    webhook.kill("SIGKILL");
    await new Promise((r) => webhook!.once("exit", r));
  }
  if (app) rmSync(app, { recursive: true, force: true });
  if (nodeDir) rmSync(nodeDir, { recursive: true, force: true });
});

/** The Dockerfile's ENTRYPOINT, with the image's /app mapped to the layout and node to Node 24. */
function entrypoint(): string[] {
  const line = stage("runtime").find((l) => l.startsWith("ENTRYPOINT"));
  const argv = JSON.parse(line!.slice("ENTRYPOINT".length)) as string[];
  assert.equal(argv[0], "node", "node runs directly, so SIGTERM reaches it");
  return [join(nodeDir, "node"), ...argv.slice(1).map((a) => a.replace(/^\/app\//, `${app}/`))];
}
function run(args: string[]) {
  const [cmd, ...rest] = entrypoint();
  return spawnSync(cmd!, [...rest, ...args], { cwd: app, encoding: "utf8", env: { PATH: process.env.PATH } });
}

async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, "127.0.0.1", r));
  const { port } = srv.address() as { port: number };
  await new Promise((r) => srv.close(r));
  return port;
}

describe("the runtime image's layout", { skip }, () => {
  it("the runtime stage copies exactly the layout this test builds, and runs as a numeric non-root user", () => {
    const copies = stage("runtime")
      .filter((l) => l.startsWith("COPY"))
      .map((l) => l.split(/\s+/).at(-1));
    assert.deepEqual(copies.sort(), ["./", "./bin", "./dist", "./node_modules"]);
    assert.match(stage("runtime").find((l) => l.startsWith("USER")) ?? "", /^USER [1-9]\d*:[1-9]\d*$/);
    assert.deepEqual(readdirSync(app).sort(), ["bin", "dist", "node_modules", "package.json"]);
  });

  it("the Dockerfile bakes in no key, kubeconfig or certificate", () => {
    const instructions = dockerfile
      .split("\n")
      .filter((l) => !l.trim().startsWith("#"))
      .join("\n");
    assert.match(instructions, /FROM .* AS nftlb/, "the comments are stripped, not the instructions");
    assert.doesNotMatch(instructions, /NFTLB_SERVER_KEY|nftlb[^\n]* -k |kubeconfig|\.pem|\.key\b|tls\.crt/i);
    for (const l of instructions.split("\n").filter((x) => /^(ENV|ARG) /.test(x))) {
      assert.doesNotMatch(l, /KEY|TOKEN|PASSWORD|SECRET/i, l);
    }
  });

  it("holds no dev-only package and no test file", () => {
    const lock = JSON.parse(readFileSync(join(ROOT, "package-lock.json"), "utf8")) as {
      packages: Record<string, { dev?: boolean }>;
    };
    const devOnly = Object.entries(lock.packages).filter(([path, p]) => path !== "" && p.dev === true);
    assert.ok(
      devOnly.some(([path]) => path === "node_modules/typescript"),
      "the lockfile marks dev-only packages",
    );
    for (const [path] of devOnly)
      assert.ok(!existsSync(join(app, path)), `${path} is dev-only but in the image`);
    const files = readdirSync(join(app, "dist"), { recursive: true }) as string[];
    // Tests, their helpers and fakes (the layout check's one definition of test-only).
    assert.deepEqual(
      files.filter((f) => f.endsWith(".js") && TEST_ONLY.test(f.replace(/\.js$/, ".ts"))),
      [],
    );
  });

  it(".dockerignore lets in every folder the build emits, so the image build sees the same sources", () => {
    const allowed = readFileSync(join(ROOT, ".dockerignore"), "utf8")
      .split("\n")
      .filter((l) => l.startsWith("!"))
      .map((l) => l.slice(1).replace(/\/$/, ""));
    for (const folder of readdirSync(join(app, "dist")))
      assert.ok(allowed.includes(folder), `.dockerignore lacks !${folder}/`);
    for (const f of ["package.json", "package-lock.json", "tsconfig.json", "tsconfig.build.json", "bin"]) {
      assert.ok(allowed.includes(f), `.dockerignore lacks !${f}`);
    }
  });

  it("`kube-nftlb --help` and every command's --help run from the build output alone", async () => {
    const top = run(["--help"]);
    assert.equal(top.status, 0, top.stderr);
    assert.match(top.stdout, /Usage: kube-nftlb <command>/);
    const commands = readdirSync(join(ROOT, "cli"))
      .filter((f) => f.endsWith(".ts") && !f.endsWith(".test.ts") && f !== "main.ts")
      .map((f) => f.slice(0, -3));
    assert.ok(commands.includes("webhook"));
    const [cmd, ...rest] = entrypoint();
    const results = await Promise.all(commands.map((name) => exec(cmd!, [...rest, name, "--help"], app)));
    commands.forEach((name, i) => {
      assert.ok(existsSync(join(app, "dist", "cli", `${name}.js`)), `dist/cli/${name}.js was not built`);
      assert.equal(results[i]!.status, 0, `kube-nftlb ${name} --help: ${results[i]!.output}`);
      assert.match(results[i]!.output, new RegExp(`kube-nftlb ${name}`));
    });
  });

  it("`kube-nftlb --version` from the build output prints package.json's version", () => {
    const { version } = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { version: string };
    const r = run(["webhook", "--version"]);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout, `kube-nftlb ${version}\n`);
  });

  it("the syncer accepts the DaemonSet's arguments (it stops at the API server, not at a flag)", async () => {
    const objects = render("deploy");
    const { pod, syncer, nftlb } = daemonSet(objects);
    const keyDir = mkdtempSync(join(tmpdir(), "deploy-image-key-"));
    writeFileSync(join(keyDir, "key"), "0123456789abcdef".repeat(4));
    const mount = syncer.volumeMounts!.find((m) => m.name === "nftlb-key")!.mountPath;
    // The settings ConfigMap, as kubelet mounts it.
    const configMount = syncer.volumeMounts!.find((m) => m.name === "syncer-config")!.mountPath;
    const cmName = (pod.volumes!.find((v) => v.name === "syncer-config")!.configMap as { name: string }).name;
    const cm = find(objects, "ConfigMap", cmName) as unknown as { data: Record<string, string> };
    for (const [k, v] of Object.entries(cm.data)) writeFileSync(join(keyDir, k), v);
    // What kubelet does: $(VAR) from the container's env, spec.nodeName and the nftlb
    // container's memory limit (in bytes) from the downward API.
    const limit = String(parseSize(String(nftlb.resources?.limits?.memory ?? "")) ?? "");
    const env = new Map(
      (syncer.env ?? []).map((e) => [
        e.name,
        e.value ?? (e.valueFrom?.resourceFieldRef ? limit : e.valueFrom ? "node-a" : ""),
      ]),
    );
    const args = syncer.args!.map((a) =>
      a
        .replace(/\$\((\w+)\)/g, (_, name: string) => env.get(name) ?? `$(${name})`)
        .replace(mount, keyDir)
        .replace(configMount, keyDir),
    );
    assert.ok(!args.some((a) => a.includes("$(")), `unexpanded variable in ${args.join(" ")}`);
    const [cmd, ...rest] = entrypoint();
    // No kubeconfig and no KUBERNETES_SERVICE_HOST: past flag parsing, it must fail to reach the API (1), not reject a flag (2).
    const r = await exec(cmd!, [...rest, ...args], app);
    rmSync(keyDir, { recursive: true, force: true });
    assert.equal(r.status, 1, r.output);
    assert.match(r.output, /KUBERNETES_SERVICE_HOST/);
  });

  it("the webhook starts with the Deployment's arguments and files, answers probes and reviews, and stops on SIGTERM", async () => {
    const objects = render("deploy");
    const [w] = workloads([find(objects, "Deployment", "kube-nftlb-webhook")]);
    const container = w!.pod.containers[0]!;
    // The files the pod mounts: the TLS Secret the certs Job writes, the generated defaults ConfigMap.
    const files = mkdtempSync(join(tmpdir(), "deploy-image-files-"));
    const mounts = new Map<string, string>();
    const ca = createCa();
    for (const m of container.volumeMounts ?? []) {
      const dir = join(files, m.name);
      mkdirSync(dir);
      mounts.set(m.mountPath, dir);
      const volume = w!.pod.volumes!.find((v) => v.name === m.name)!;
      if (volume.secret) {
        const leaf = ca.issue({
          commonName: "kube-nftlb-webhook.kube-nftlb.svc",
          dnsNames: ["localhost"],
          ips: ["127.0.0.1"],
        });
        writeFileSync(join(dir, "tls.crt"), leaf.cert);
        writeFileSync(join(dir, "tls.key"), leaf.key, {
          mode: (volume.secret as { defaultMode: number }).defaultMode,
        });
        writeFileSync(join(dir, "ca.crt"), ca.cert);
      } else {
        const cmName = (volume.configMap as { name: string }).name;
        const cm = find(objects, "ConfigMap", cmName) as unknown as { data: Record<string, string> };
        for (const [k, v] of Object.entries(cm.data)) writeFileSync(join(dir, k), v);
      }
      chmodSync(dir, 0o555);
    }
    // As the image's USER, reading the Secret through the pod's fsGroup (when we may switch users).
    const asUser = process.getuid?.() === 0 ? (w!.pod.securityContext?.runAsUser ?? 0) : undefined;
    if (asUser !== undefined) {
      const group = w!.pod.securityContext!.fsGroup!;
      for (const f of readdirSync(files, { recursive: true }) as string[])
        chownSync(join(files, f), 0, group);
      chmodSync(files, 0o755);
      chmodSync(app, 0o755);
    }
    const https = await freePort();
    const probes = await freePort();
    // What kubelet does: $(VAR) from the container's env.
    const env = new Map((container.env ?? []).map((e) => [e.name, e.value ?? ""]));
    const args = container.args!.map((a) => {
      for (const [from, to] of mounts) a = a.replace(from, to);
      return a
        .replace(/\$\((\w+)\)/g, (_, name: string) => env.get(name) ?? `$(${name})`)
        .replace("--port=9443", `--port=${https}`)
        .replace("--probe-port=8080", `--probe-port=${probes}`);
    });
    assert.notDeepEqual(args, container.args, "the mounts and ports were mapped");
    assert.ok(!args.some((a) => a.includes("$(")), `unexpanded variable in ${args.join(" ")}`);
    const [cmd, ...rest] = entrypoint();
    webhook = spawn(cmd!, [...rest, ...args, "--bind-address=127.0.0.1"], {
      cwd: app,
      stdio: ["ignore", "pipe", "pipe"],
      ...(asUser !== undefined ? { uid: asUser, gid: w!.pod.securityContext!.fsGroup! } : {}),
    });
    webhook.stdout!.on("data", (b: Buffer) => (webhookOut += b.toString()));
    webhook.stderr!.on("data", (b: Buffer) => (webhookOut += b.toString()));

    const get = async (path: string) => {
      try {
        return (await fetch(`http://127.0.0.1:${probes}${path}`)).status;
      } catch {
        return 0;
      }
    };
    await until("the webhook ready", async () => (await get("/readyz")) === 200, {
      timeoutMs: 15_000,
      intervalMs: 100,
      stopIf: () => (webhook!.exitCode === null ? undefined : `the webhook exited:\n${webhookOut}`),
      detail: () => webhookOut,
    });
    assert.equal(await get("/healthz"), 200);
    assert.match(await (await fetch(`http://127.0.0.1:${probes}/metrics`)).text(), /^# HELP /m);

    const review = (annotations: Record<string, string>) =>
      JSON.stringify({
        apiVersion: "admission.k8s.io/v1",
        kind: "AdmissionReview",
        request: {
          uid: "6b1f4c1e-0000-4000-8000-000000000001",
          kind: { group: "", version: "v1", kind: "Service" },
          resource: { group: "", version: "v1", resource: "services" },
          operation: "CREATE",
          namespace: "default",
          name: "web",
          object: {
            apiVersion: "v1",
            kind: "Service",
            metadata: { name: "web", namespace: "default", annotations },
            spec: { ports: [{ port: 80, protocol: "TCP" }] },
          },
        },
      });
    const post = (path: string, body: string) =>
      new Promise<{ response: { allowed: boolean; status?: { message: string }; patch?: string } }>(
        (resolve, reject) => {
          const req = request(
            {
              host: "127.0.0.1",
              port: https,
              path,
              method: "POST",
              ca: ca.cert,
              headers: { "content-type": "application/json" },
            },
            (res) => {
              let text = "";
              res.on("data", (b: Buffer) => (text += b.toString()));
              res.on("end", () => resolve(JSON.parse(text) as never));
            },
          );
          req.on("error", reject);
          req.end(body);
        },
      );
    const denied = await post(
      "/validate",
      review({ "service.kubernetes.io/kube-nftlb-load-balancer-mode": "SNAT" }),
    );
    assert.equal(denied.response.allowed, false);
    assert.match(denied.response.status?.message ?? "", /did you mean "snat"/);
    const mutated = await post("/mutate", review({}));
    assert.equal(mutated.response.allowed, true);
    // The defaults file from the ConfigMap is what the webhook writes.
    const patch = Buffer.from(mutated.response.patch ?? "", "base64").toString();
    assert.match(patch, /kube-nftlb-load-balancer-scheduler/);

    webhook.kill("SIGTERM");
    const code = await new Promise<number | null>((r) => webhook!.once("exit", (c) => r(c)));
    assert.equal(code, 0, webhookOut);
    rmSync(files, { recursive: true, force: true });
  });
});
