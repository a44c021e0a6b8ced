// `kube-nftlb <command>`: parses nothing itself, hands argv to the command's module.
// Each command lives in cli/<name>.ts and is loaded only when run, so `lint` never pays for
// client-node. The extension follows this file's: .ts from a checkout, .js from the build.
import { emit, usageError, versionExit } from "../flags/flags.ts";

const COMMANDS: Record<string, string> = {
  lint: "validate kube-nftlb annotations in manifests, offline",
  render: "print the nftlb farms a node would get for manifests",
  webhook: "run the validating and mutating admission webhook",
  syncer: "run the node sidecar that keeps nftlb equal to the cluster",
  "node-rules": "run the agent that writes kube-nftlb's own nftables table (NET_ADMIN)",
  certs: "create and rotate the webhook's TLS certificates",
  "conntrack-agent": "delete stale UDP conntrack entries for the syncer (CAP_NET_ADMIN only)",
};
const EXT = import.meta.url.endsWith(".ts") ? ".ts" : ".js";

export interface Command {
  run(argv: string[]): Promise<number>;
}

const USAGE = `Usage: kube-nftlb <command> [flags]

Commands:
${Object.entries(COMMANDS)
  .map(([name, summary]) => `  ${name.padEnd(15)} ${summary}`)
  .join("\n")}

Run \`kube-nftlb <command> --help\` for a command's flags; \`kube-nftlb --version\` prints the version.`;

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === "--help" || name === "-h" || name === "help") {
    console.log(USAGE);
    return name === undefined ? 2 : 0;
  }
  if (name === "--version" || name === "version") return emit(versionExit());
  if (!Object.hasOwn(COMMANDS, name))
    return emit(usageError({ command: "kube-nftlb" }, `unknown command "${name}"`));
  let mod: Command;
  try {
    mod = (await import(new URL(`./${name}${EXT}`, import.meta.url).href)) as Command;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ERR_MODULE_NOT_FOUND") {
      console.error(`kube-nftlb: the "${name}" command is not available in this build`);
      return 2;
    }
    throw err;
  }
  return mod.run(rest);
}
