#!/usr/bin/env node
// Entry point. Plain JavaScript on purpose: it must run on whatever `node` is first on PATH
// (Debian 12 ships Node 20) long enough to hand over to Node 24, which the project installs
// as the `node` dev dependency.
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const [major, minor] = process.versions.node.split(".").map(Number);
const tooOld = major < 22 || (major === 22 && minor < 19);

if (tooOld) {
  const node24 = join(root, "node_modules", "node", "bin", "node");
  if (!existsSync(node24) || process.env.KUBE_NFTLB_REEXEC === "1") {
    console.error(
      `kube-nftlb needs Node >= 22.19 (Node 24 LTS recommended); this is Node ${process.versions.node}.\n` +
        "Run `npm ci` in the repository (it installs Node 24 from the npm registry), or install Node 24.",
    );
    process.exit(2);
  }
  const r = spawnSync(node24, [fileURLToPath(import.meta.url), ...process.argv.slice(2)], {
    stdio: "inherit",
    env: { ...process.env, KUBE_NFTLB_REEXEC: "1" },
  });
  process.exit(r.status ?? 1);
}

// The image runs the compiled output; a checkout runs the TypeScript sources directly
// (Node 24 strips types natively).
const built = join(root, "dist", "cli", "main.js");
const entry = existsSync(built) ? built : join(root, "cli", "main.ts");
const { main } = await import(pathToFileURL(entry).href);
process.exitCode = await main(process.argv.slice(2));
