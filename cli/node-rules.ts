// `kube-nftlb node-rules`: the agent that holds NET_ADMIN for kube-nftlb's own nftables table and
// nothing else (syncer/node-rules-agent.ts). Runs until SIGTERM; the table stays in the kernel.
import { emit, parseFlags, usageError } from "../flags/flags.ts";
import { createLogger, logLevelError, serveAgent } from "../runtime/index.ts";
import { socketTable, startNodeRulesAgent } from "../syncer/node-rules-agent.ts";
import { nftTable } from "../syncer/node-rules-nft.ts";

export const HELP = `Usage: kube-nftlb node-rules --socket PATH [--log-level LEVEL]

Keeps kube-nftlb's own nftables table, table inet kube-nftlb, for the syncer of the same pod,
which asks over a unix socket (syncer --node-rules unix:PATH). Accepts only the table's content
(Services without endpoints, source ranges), checks every field and writes the table itself
with nft in one transaction: whoever reaches the socket can set that table and nothing else.
Needs NET_ADMIN in the node's network namespace, and nothing more (no API token, no nftlb key).
The socket is made group read-write (the pod's fsGroup). On SIGTERM it stops; the table stays.

Flags:
  --socket PATH       the unix socket to listen on (an emptyDir shared with the syncer)
  --check             ask the agent on --socket whether it answers and can run nft, then
                      exit 0 (yes) or 1 (no): the container's probe
  --log-level LEVEL   trace, debug, info (default), warn, error
  -h, --help          show this help
  --version           print kube-nftlb's version

Exit status: 0 after a clean shutdown, 1 if it could not start, 2 usage error.`;

const FLAGS = {
  command: "kube-nftlb node-rules",
  help: HELP,
  options: {
    socket: { type: "string" },
    check: { type: "boolean" },
    "log-level": { type: "string", default: "info" },
  },
} as const;

export async function run(argv: string[]): Promise<number> {
  const parsed = parseFlags(FLAGS, argv);
  if (!parsed.ok) return emit(parsed.exit);
  const { values } = parsed;
  if (!values.socket?.startsWith("/")) return usage("--socket must be an absolute path");
  const badLevel = logLevelError(values["log-level"]);
  if (badLevel !== undefined) return usage(badLevel);
  if (values.check) {
    const r = await socketTable(values.socket, 8_000).exists();
    if (!r.ok) console.error(`kube-nftlb node-rules --check: ${r.error}`);
    return r.ok ? 0 : 1;
  }
  const log = createLogger({ name: "node-rules", level: values["log-level"] });
  const socketPath = values.socket;
  return serveAgent("node-rules", log, () => startNodeRulesAgent({ socketPath, table: nftTable(), log }));
}

const usage = (message: string): number => emit(usageError(FLAGS, message));
