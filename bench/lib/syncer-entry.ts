// How the memory bench starts the syncer: as deploy/node/daemonset.yaml runs it (its NODE_OPTIONS
// and glibc malloc settings), from the compiled output as in the image, or from the sources.
import { execFileSync } from "node:child_process";
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import process from "node:process";
import { parse } from "yaml";

export /** glibc malloc's settings by environment: its tunables and the MALLOC_*_ variables. */
const mallocSetting = (name: string) => name === "GLIBC_TUNABLES" || name.startsWith("MALLOC_");

/**
 * The memory settings of the syncer container in deploy/node/daemonset.yaml (NODE_OPTIONS and
 * glibc malloc's): the syncer runs as deployed. In the pod, `--max-old-space-size-percentage`
 * is a share of the container's memory limit (Node reads its cgroup); here, with no limit, it
 * would be a share of the machine's memory, so it is turned into the `--max-old-space-size` the
 * pod gets.
 */
function deployedMemoryEnv(root: string): { NODE_OPTIONS: string; malloc: Record<string, string> } {
  const ds = parse(readFileSync(path.join(root, "deploy/node/daemonset.yaml"), "utf8")) as {
    spec: {
      template: {
        spec: {
          containers: {
            name: string;
            env?: { name: string; value?: string }[];
            resources?: { limits?: { memory?: string } };
          }[];
        };
      };
    };
  };
  const syncer = ds.spec.template.spec.containers.find((c) => c.name === "syncer");
  const value = (name: string) => syncer?.env?.find((e) => e.name === name)?.value;
  const limit = /^(\d+)Mi$/.exec(syncer?.resources?.limits?.memory ?? "")?.[1];
  const NODE_OPTIONS = (value("NODE_OPTIONS") ?? "").replace(
    /--max-old-space-size-percentage=(\d+)%?/,
    (all, pct: string) =>
      limit === undefined ? all : `--max-old-space-size=${Math.floor((Number(limit) * Number(pct)) / 100)}`,
  );
  const malloc = Object.fromEntries(
    (syncer?.env ?? [])
      .filter((e) => mallocSetting(e.name) && e.value !== undefined)
      .map((e) => [e.name, e.value!]),
  );
  return { NODE_OPTIONS, malloc };
}

export interface EntryOptions {
  root: string;
  /** run the TypeScript sources instead of the compiled output */
  sources: boolean;
  /** leave the DaemonSet's malloc settings out (glibc's defaults) */
  glibcDefaults: boolean;
}

/** The command the syncer runs as: the compiled output (as in the image) or the sources. */
export function entry({ root, sources, glibcDefaults }: EntryOptions): {
  argv: string[];
  env: NodeJS.ProcessEnv;
} {
  // An explicit NODE_OPTIONS or malloc setting (e.g. MALLOC_ARENA_MAX, to compare settings) wins
  // over the DaemonSet's; one given empty (MALLOC_ARENA_MAX=) runs with glibc's default.
  const deployed = deployedMemoryEnv(root);
  const env: NodeJS.ProcessEnv = {
    ...(glibcDefaults ? {} : deployed.malloc),
    ...process.env,
    NODE_OPTIONS: process.env.NODE_OPTIONS ?? deployed.NODE_OPTIONS,
  };
  for (const name of Object.keys(env)) if (mallocSetting(name) && !env[name]) delete env[name];
  if (sources) return { argv: ["bin/kube-nftlb.js"], env };
  // Inside node_modules so that the compiled files resolve the dependencies from the checkout,
  // and neither git, the linters nor bin/kube-nftlb.js (which prefers dist/) see them.
  const out = path.join(root, "node_modules/.cache/kube-nftlb-bench-build");
  rmSync(out, { recursive: true, force: true });
  execFileSync(path.join(root, "node_modules/.bin/tsc"), ["-p", "tsconfig.build.json", "--outDir", out], {
    cwd: root,
    stdio: "inherit",
  });
  const main = path.join(out, "cli", "main.js");
  const bin = path.join(out, "bin.mjs");
  writeFileSync(
    bin,
    `import { main } from ${JSON.stringify(main)};\nprocess.exitCode = await main(process.argv.slice(2));\n`,
  );
  return { argv: [bin], env: { ...env, NODE_ENV: "production" } };
}
