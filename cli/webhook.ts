// `kube-nftlb webhook`: parses flags and runs webhook/server.ts until SIGTERM.
import { emit, parseFlags, usageError } from "../flags/flags.ts";
import { createLogger, createShutdown, exitOnCrash, logLevelError, readParsed } from "../runtime/index.ts";
import { BUILTIN_DEFAULTS, parseDefaultsYaml, PROXY_NAME } from "../annotations/index.ts";

const HELP = `Usage: kube-nftlb webhook --tls-cert FILE --tls-key FILE [flags]

Serves the validating (POST /validate) and mutating (POST /mutate) admission webhook for
Services over HTTPS (TLS 1.2+). The certificate and key are re-read when they change on disk
(a mounted Secret updating), without restart and without dropping connections; a pair that is
half-written or does not match is refused and the previous one kept.

Probes on a plain-HTTP port: /healthz, /readyz (ready once a certificate is loaded; unready while
draining), /metrics (Prometheus). Logs are JSON lines on stdout. On SIGTERM: unready, wait
--shutdown-delay, stop accepting, finish in-flight requests, exit 0.

Flags:
  --tls-cert FILE          serving certificate (PEM), e.g. /etc/kube-nftlb/tls/tls.crt
  --tls-key FILE           its private key (PEM)
  --port N                 HTTPS port (default 9443)
  --probe-port N           plain-HTTP port of /healthz /readyz /metrics (default 8080)
  --bind-address ADDR      address of both ports (default 0.0.0.0)
  --defaults-file FILE     YAML cluster defaults the mutating webhook writes (re-read when it
                           changes, e.g. a mounted ConfigMap; a bad new file is refused and the
                           previous defaults kept), e.g.
                             scheduler: symhash
                             mode: dnat
                           keys: mode, scheduler, helper, log (never persistence);
                           built-in: ${Object.entries(BUILTIN_DEFAULTS)
                             .map(([k, v]) => `${k}: ${v}`)
                             .join(", ")}
  --proxy-mode MODE        replace (default): kube-nftlb balances every Service not labelled for
                           another proxy; alongside: only Services labelled
                           service.kubernetes.io/service-proxy-name=kube-nftlb. The same as the
                           syncer's: defaults are written only to Services kube-nftlb balances
  --shutdown-delay SECONDS stay up but unready this long after SIGTERM (default 3)
  --log-level LEVEL        trace, debug, info (default), warn, error
  -h, --help               show this help
      --version            print kube-nftlb's version

Exit status: 0 after a clean shutdown, 1 if the server could not start, 2 usage error.`;

const FLAGS = {
  command: "kube-nftlb webhook",
  help: HELP,
  options: {
    "tls-cert": { type: "string" },
    "tls-key": { type: "string" },
    port: { type: "string", default: "9443" },
    "probe-port": { type: "string", default: "8080" },
    "bind-address": { type: "string", default: "0.0.0.0" },
    "defaults-file": { type: "string" },
    "shutdown-delay": { type: "string", default: "3" },
    "proxy-mode": { type: "string", default: "replace" },
    "log-level": { type: "string", default: "info" },
  },
} as const;

const usage = (message: string): number => emit(usageError(FLAGS, message));

function port(raw: string, flag: string): number | string {
  if (!/^\d+$/.test(raw) || Number(raw) > 65535)
    return `${flag} must be a port number from 0 to 65535, got "${raw}"`;
  return Number(raw);
}

export async function run(argv: string[]): Promise<number> {
  const parsed = parseFlags(FLAGS, argv);
  if (!parsed.ok) return emit(parsed.exit);
  const { values } = parsed;
  const cert = values["tls-cert"];
  const key = values["tls-key"];
  if (!cert || !key) return usage("--tls-cert and --tls-key are required");
  const httpsPort = port(values.port, "--port");
  const probePort = port(values["probe-port"], "--probe-port");
  if (typeof httpsPort === "string") return usage(httpsPort);
  if (typeof probePort === "string") return usage(probePort);
  const delay = Number(values["shutdown-delay"]);
  if (!/^\d+(\.\d+)?$/.test(values["shutdown-delay"]) || delay > 300) {
    return usage(
      `--shutdown-delay must be a number of seconds from 0 to 300, got "${values["shutdown-delay"]}"`,
    );
  }
  const mode = values["proxy-mode"];
  if (mode !== "replace" && mode !== "alongside") {
    return usage(`--proxy-mode must be replace or alongside, got "${mode}"`);
  }
  const badLevel = logLevelError(values["log-level"]);
  if (badLevel !== undefined) return usage(badLevel);

  // Checked here so that a bad file is a usage error; the server then re-reads it on change.
  const defaultsFile = values["defaults-file"];
  if (defaultsFile) {
    const loaded = await readParsed([defaultsFile], ([text]) => parseDefaultsYaml(text!, defaultsFile));
    if (!loaded.ok) return usage(loaded.error);
  }

  const log = createLogger({ name: "webhook", level: values["log-level"] });
  exitOnCrash(log);
  // Loaded only now: --help, --version and usage errors never pay for express.
  const { startWebhook } = await import("../webhook/server.ts");
  let webhook;
  try {
    webhook = await startWebhook({
      tlsCert: cert,
      tlsKey: key,
      port: httpsPort,
      probePort,
      host: values["bind-address"],
      ...(defaultsFile ? { defaultsFile } : {}),
      scope: { proxyName: PROXY_NAME, mode },
      log,
      shutdownDelayMs: delay * 1000,
    });
  } catch (err) {
    log.error({ err: (err as Error).message }, "webhook could not start");
    return 1;
  }
  const shutdown = createShutdown({ log, timeoutMs: delay * 1000 + 25_000 });
  shutdown.add("drain and stop the webhook", () => webhook.close());
  await shutdown.onSignals();
  return 0;
}
