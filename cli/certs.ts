// `kube-nftlb certs ensure`: create or rotate the webhook's CA and serving certificate, and keep
// every caBundle equal to the CA bundle in the Secret. Parses flags, builds the stores, calls in.
import { emit, parseFlags, usageError } from "../flags/flags.ts";
import { formatDuration, parseDuration } from "../runtime/duration.ts";
import { ensure, type EnsureRequest } from "../certs/ensure.ts";

const HELP = `Usage: kube-nftlb certs ensure --namespace NS --service SVC --secret NAME --webhook NAME...
                              [--kubeconfig FILE] [--ca-validity 87600h] [--cert-validity 8760h]
                              [--renew-before-fraction 0.33] [--propagation-grace 10m] [--dry-run]

Creates the webhook's CA and serving certificate in a kubernetes.io/tls Secret (tls.crt, tls.key,
ca.crt, ca.key) and writes ca.crt into the caBundle of every webhook of each named
MutatingWebhookConfiguration and ValidatingWebhookConfiguration. Idempotent: run it daily.
Renews the serving certificate in the last fraction of its life (or when its names or CA are
wrong); rotates the CA over three runs, never serving a certificate a caBundle does not trust.

Flags:
  -n, --namespace NS               namespace of the webhook's Service and of the Secret (required)
      --service SVC                the webhook's Service name; the certificate is for
                                   SVC, SVC.NS, SVC.NS.svc, SVC.NS.svc.cluster.local (required)
      --secret NAME                the Secret to keep (required)
      --webhook NAME[,NAME]        webhook configuration name(s), each looked up as both kinds
                                   (required; repeat the flag or separate names with commas)
      --kubeconfig FILE            default: in-cluster service account, else $KUBECONFIG or ~/.kube/config
      --ca-validity DURATION       lifetime of a new CA (default 87600h, 10 years)
      --cert-validity DURATION     lifetime of a new serving certificate (default 8760h), never past the CA
      --renew-before-fraction F    renew when less than F of a certificate's life is left (default 0.33)
      --propagation-grace DURATION wait between CA rotation steps for kubelet to deliver the Secret and
                                   API servers to load caBundles (default 10m)
      --dry-run                    print what would change; change nothing
  -h, --help                       show this help
      --version                    print kube-nftlb's version

Exit status: 0 done (or nothing to do), 1 an API error or input it refuses to touch, 2 usage error.`;

const FLAGS = {
  command: "kube-nftlb certs",
  help: HELP,
  positionals: true,
  options: {
    namespace: { type: "string", short: "n" },
    service: { type: "string" },
    secret: { type: "string" },
    webhook: { type: "string", multiple: true },
    kubeconfig: { type: "string" },
    "ca-validity": { type: "string", default: "87600h" },
    "cert-validity": { type: "string", default: "8760h" },
    "renew-before-fraction": { type: "string", default: "0.33" },
    "propagation-grace": { type: "string", default: "10m" },
    "dry-run": { type: "boolean", default: false },
  },
} as const;

export async function run(argv: string[]): Promise<number> {
  const usage = (msg: string) => emit(usageError(FLAGS, msg));
  const parsed = parseFlags(FLAGS, argv);
  if (!parsed.ok) return emit(parsed.exit);
  const { values, positionals } = parsed;
  if (positionals.length !== 1 || positionals[0] !== "ensure") {
    return usage(
      positionals.length === 0
        ? "no subcommand given (expected: ensure)"
        : `unknown subcommand "${positionals.join(" ")}" (expected: ensure)`,
    );
  }
  const missing = (["namespace", "service", "secret", "webhook"] as const).filter(
    (k) => values[k] === undefined,
  );
  if (missing.length > 0) return usage(`missing ${missing.map((k) => `--${k}`).join(", ")}`);
  const webhookNames = [...new Set((values.webhook ?? []).flatMap((w) => w.split(",")).map((w) => w.trim()))];
  const names = {
    namespace: values.namespace ?? "",
    service: values.service ?? "",
    secret: values.secret ?? "",
  };
  for (const [flag, v] of [...Object.entries(names), ...webhookNames.map((w) => ["webhook", w])]) {
    if (!/^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/.test(v ?? ""))
      return usage(`--${flag} "${v}" is not a valid Kubernetes name`);
  }
  if (!/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/.test(names.service))
    return usage(`--service "${names.service}" is not a DNS label`);

  const durations: Record<string, number> = {};
  for (const flag of ["ca-validity", "cert-validity", "propagation-grace"] as const) {
    const d = parseDuration(values[flag]);
    if (typeof d !== "number") return usage(`--${flag}: ${d.error}`);
    durations[flag] = d;
  }
  const fraction = Number(values["renew-before-fraction"]);
  if (!(fraction > 0 && fraction < 1))
    return usage(
      `--renew-before-fraction must be a number between 0 and 1, got "${values["renew-before-fraction"]}"`,
    );

  const req: EnsureRequest = {
    namespace: names.namespace,
    service: names.service,
    secretName: names.secret,
    webhookNames,
    options: {
      caValidityMs: durations["ca-validity"] ?? 0,
      certValidityMs: durations["cert-validity"] ?? 0,
      renewBeforeFraction: fraction,
      graceMs: durations["propagation-grace"] ?? 0,
    },
    dryRun: values["dry-run"],
  };
  if (req.options.certValidityMs > req.options.caValidityMs) {
    console.error(
      `kube-nftlb certs: note: --cert-validity ${formatDuration(req.options.certValidityMs)} exceeds --ca-validity; serving certificates end with their CA`,
    );
  }

  // Loaded only now: --help and usage errors never pay for client-node.
  const kube = await import("../certs/kube.ts");
  const { loadKubeConfig } = await import("../kube/kubeconfig.ts");
  const loaded = loadKubeConfig(values.kubeconfig, { kubectlFiles: true });
  if (!loaded.ok) {
    console.error(`kube-nftlb certs: ${loaded.error}`);
    return 1;
  }
  const result = await ensure(
    {
      secrets: kube.kubeSecretStore(loaded.kc),
      webhooks: kube.kubeWebhookConfigStore(loaded.kc),
      clock: () => Date.now(),
      log: (line) => console.log(line),
    },
    req,
  );
  if (!result.ok) {
    console.error(`kube-nftlb certs: ${result.error}`);
    return 1;
  }
  return 0;
}
