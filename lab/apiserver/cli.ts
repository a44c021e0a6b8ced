// `node lab/apiserver/cli.ts --dir DIR`: starts the lab API server, writes DIR/kubeconfig and
// DIR/ca.crt, prints how to point kubectl at it, and runs until Ctrl-C (or SIGTERM).
import { mkdirSync, writeFileSync } from "node:fs";
import { resolve } from "node:path";
import process from "node:process";
import { emit, parseFlags, usageError } from "../../flags/flags.ts";

const HELP = `Usage: node lab/apiserver/cli.ts --dir DIR [flags]

Starts an in-memory Kubernetes API server (a test and demo stand-in, never shipped) on
127.0.0.1 with TLS from a fresh lab CA and bearer-token auth, writes DIR/kubeconfig and
DIR/ca.crt, and serves until interrupted. Nothing is persisted.

Flags:
  --dir DIR                  where to write kubeconfig and ca.crt (required; created if missing)
  --port N                   port to listen on (default 0: any free port)
  --service-cidr CIDR        ClusterIP range (default 10.96.0.0/12)
  --node-port-range A-B      NodePort range (default 30000-32767)
  --token TOKEN              bearer token (default: random)
  --webhook-service NS/NAME=URL
                             where an admission webhook Service really listens, e.g.
                             kube-nftlb/kube-nftlb-webhook=https://127.0.0.1:8443 (repeatable)
  --verbose                  log every request
  -h, --help                 show this help
      --version              print kube-nftlb's version
`;

const FLAGS = {
  command: "node lab/apiserver/cli.ts",
  prefix: "lab apiserver",
  help: HELP,
  options: {
    dir: { type: "string" },
    port: { type: "string" },
    "service-cidr": { type: "string" },
    "node-port-range": { type: "string" },
    token: { type: "string" },
    "webhook-service": { type: "string", multiple: true },
    verbose: { type: "boolean" },
  },
} as const;

const usage = (message: string): number => emit(usageError(FLAGS, message));

export async function run(argv: string[]): Promise<number> {
  const parsed = parseFlags(FLAGS, argv);
  if (!parsed.ok) return emit(parsed.exit);
  const { values } = parsed;
  if (values.dir === undefined || values.dir === "") return usage("--dir is required");
  const port = values.port === undefined ? 0 : Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    return usage(`--port: want a number from 0 to 65535, got ${JSON.stringify(values.port)}`);
  const services = new Map<string, string>();
  for (const m of values["webhook-service"] ?? []) {
    const match = /^([a-z0-9-]+)\/([a-z0-9-]+)=(https:\/\/.+)$/.exec(m);
    if (match === null)
      return usage(`--webhook-service: want NAMESPACE/NAME=https://HOST:PORT, got ${JSON.stringify(m)}`);
    services.set(`${match[1] ?? ""}/${match[2] ?? ""}`, match[3] ?? "");
  }
  const dir = resolve(values.dir);
  mkdirSync(dir, { recursive: true });
  // Loaded only now: --help, --version and usage errors answer at once.
  const { startApiServer } = await import("./index.ts");
  let api;
  try {
    api = await startApiServer({
      dir,
      port,
      ...(values["service-cidr"] !== undefined ? { serviceCidr: values["service-cidr"] } : {}),
      ...(values["node-port-range"] !== undefined ? { nodePortRange: values["node-port-range"] } : {}),
      ...(values.token !== undefined ? { token: values.token } : {}),
      resolveService: (s) => services.get(`${s.namespace}/${s.name}`),
      ...(values.verbose === true ? { log: (l: string) => console.error(l) } : {}),
    });
  } catch (e) {
    console.error(`cannot start the lab API server: ${(e as Error).message}`);
    return 1;
  }
  writeFileSync(`${dir}/ca.crt`, api.ca.cert);
  console.log(`Lab Kubernetes API server listening on ${api.url}
kubeconfig: ${api.kubeconfigPath}   (lab CA: ${dir}/ca.crt)

Try:
  export KUBECONFIG=${api.kubeconfigPath}
  kubectl get namespaces
  kubectl get services --watch      # in another terminal
  kubectl apply -f - <<'YAML'
apiVersion: v1
kind: Service
metadata: {name: web}
spec: {selector: {app: web}, ports: [{name: http, port: 80, targetPort: 8080}]}
YAML
  kubectl delete service web

Everything lives in memory; Ctrl-C stops the server.`);
  await new Promise<void>((done) => {
    process.once("SIGINT", () => done());
    process.once("SIGTERM", () => done());
  });
  await api.stop();
  return 0;
}

if (import.meta.url === `file://${process.argv[1] ?? ""}`) {
  process.exitCode = await run(process.argv.slice(2));
}
