#!/usr/bin/env node
// Entry point. Plain JavaScript on purpose: it must run on whatever `node` is first on PATH
// (Debian 12 ships Node 20) long enough to hand over to Node 24, which the project installs
// as the `node` dev dependency.
import { spawn } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { constants } from "node:os";
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
  // Asynchronous, so this process stays able to take signals: a supervisor signals the process it
  // started (this one), and the server must get SIGTERM, SIGINT or SIGHUP rather than be orphaned.
  // The IPC channel is the child's line to this process: a SIGKILL here forwards nothing, but the
  // kernel closes the channel, and the child takes that as its SIGTERM (below), not running on
  // orphaned.
  const child = spawn(node24, [fileURLToPath(import.meta.url), ...process.argv.slice(2)], {
    stdio: ["inherit", "inherit", "inherit", "ipc"],
    env: { ...process.env, KUBE_NFTLB_REEXEC: "1" },
  });
  for (const signal of ["SIGTERM", "SIGINT", "SIGHUP"]) {
    process.on(signal, () => {
      // A terminal's Ctrl-C already reached the child (same foreground process group); a second
      // SIGINT would cut its drain short. (A `kill -INT` meanwhile is not forwarded; SIGTERM is.)
      if (signal === "SIGINT" && inTerminalForeground()) return;
      child.kill(signal);
    });
  }
  child.on("error", (err) => {
    console.error(`kube-nftlb: could not start ${node24}: ${err.message}`);
    process.exit(1);
  });
  // The shell's convention for a child that died of a signal: 128 + its number.
  child.on("exit", (code, signal) => process.exit(code ?? 128 + (constants.signals[signal] ?? 0)));
} else {
  if (process.env.KUBE_NFTLB_REEXEC === "1" && process.channel) {
    // Started by the wrapper above: when it is gone (killed outright), stop as on SIGTERM. The
    // channel alone must not keep this process running.
    process.channel.unref();
    process.once("disconnect", () => process.kill(process.pid, "SIGTERM"));
  }
  // The image runs the compiled output; a checkout runs the TypeScript sources directly
  // (Node 24 strips types natively).
  const built = join(root, "dist", "cli", "main.js");
  const entry = existsSync(built) ? built : join(root, "cli", "main.ts");
  const { main } = await import(pathToFileURL(entry).href);
  process.exitCode = await main(process.argv.slice(2));
}

/** Whether this process is in its terminal's foreground process group (/proc/self/stat). */
function inTerminalForeground() {
  try {
    // After the command's closing parenthesis: state ppid pgrp session tty_nr tpgid ...
    const f = readFileSync("/proc/self/stat", "utf8").split(") ").at(-1).split(" ");
    return Number(f[5]) > 0 && f[2] === f[5];
  } catch {
    return false;
  }
}
