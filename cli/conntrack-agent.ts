// `kube-nftlb conntrack-agent`: one of the node pod's agents with CAP_NET_ADMIN; deletes stale UDP
// conntrack entries when the syncer asks (syncer/conntrack-agent.ts). Flags only, no logic.
import { emit, parseFlags, usageError } from "../flags/flags.ts";
import { createLogger, logLevelError, serveAgent } from "../runtime/index.ts";
import { startConntrackAgent } from "../syncer/conntrack-agent.ts";
import { cleanWithTool, execConntrack } from "../syncer/conntrack-tool.ts";

export const HELP = `Usage: kube-nftlb conntrack-agent --socket PATH [--conntrack PATH] [--log-level LEVEL]

Listens on a unix socket (mode 0660) for the syncer's UDP Service addresses and their serving
backends, and deletes the node's UDP conntrack entries no serving backend answers (kube-proxy's
cleanup) with Debian's conntrack tool. Needs CAP_NET_ADMIN in the node's network namespace and
nothing else; it holds no API token. See docs/operators.md.

Flags:
  --socket PATH       the unix socket, in a volume shared with the syncer (required)
  --conntrack PATH    the conntrack binary (default /usr/sbin/conntrack)
  --log-level LEVEL   trace, debug, info (default), warn, error
  -h, --help          show this help
  --version           print kube-nftlb's version

Exit status: 0 after SIGTERM, 1 if it could not start, 2 usage error.`;

const FLAGS = {
  command: "kube-nftlb conntrack-agent",
  help: HELP,
  options: {
    socket: { type: "string" },
    conntrack: { type: "string", default: "/usr/sbin/conntrack" },
    "log-level": { type: "string", default: "info" },
  },
} as const;

export async function run(argv: string[]): Promise<number> {
  const parsed = parseFlags(FLAGS, argv);
  if (!parsed.ok) return emit(parsed.exit);
  const { values } = parsed;
  if (!values.socket?.startsWith("/")) return usage("--socket must be an absolute path");
  if (!values.conntrack.startsWith("/")) return usage("--conntrack must be an absolute path");
  const badLevel = logLevelError(values["log-level"]);
  if (badLevel !== undefined) return usage(badLevel);
  const log = createLogger({ name: "conntrack-agent", level: values["log-level"] });
  const socket = values.socket;
  return serveAgent("conntrack", log, () =>
    startConntrackAgent({
      socket,
      clean: cleanWithTool(execConntrack(values.conntrack)),
      log,
    }),
  );
}

const usage = (message: string): number => emit(usageError(FLAGS, message));
