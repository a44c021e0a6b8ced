// Shared by the certs end-to-end tests: lab's API stand-in with the two webhook configurations of
// kube-nftlb applied by the real kubectl, and helpers to run `kube-nftlb certs` and read back.
import { spawn, spawnSync } from "node:child_process";
import { join } from "node:path";
import { startApiServer, type ApiServer, type ApiServerOptions } from "../lab/apiserver/index.ts";
import { kubeSecretStore, kubeWebhookConfigStore } from "../certs/kube.ts";
import { loadKubeConfig } from "../kube/kubeconfig.ts";
import type { SecretStore, WebhookConfigStore } from "../certs/stores.ts";

export const ROOT = join(import.meta.dirname, "..");
export const NS = "kube-system";
export const SVC = "kube-nftlb-webhook";
export const SECRET = "kube-nftlb-webhook-tls";
export const CONFIG = "kube-nftlb";

export function hasKubectl(): boolean {
  return spawnSync("kubectl", ["version", "--client"], { stdio: "ignore" }).status === 0;
}

/** Both configurations as deploy/ would have them: two webhooks on Services, no caBundle yet. */
export function webhookConfigsYaml(ns = NS, svc = SVC, name = CONFIG): string {
  const webhook = (name: string, path: string) => `
  - name: ${name}
    admissionReviewVersions: ["v1"]
    sideEffects: None
    failurePolicy: Fail
    timeoutSeconds: 5
    clientConfig:
      service: { namespace: ${ns}, name: ${svc}, path: ${path}, port: 443 }
    rules:
      - { operations: ["CREATE", "UPDATE"], apiGroups: [""], apiVersions: ["v1"], resources: ["services"] }`;
  return `apiVersion: admissionregistration.k8s.io/v1
kind: MutatingWebhookConfiguration
metadata: { name: ${name} }
webhooks:${webhook("mutate.kube-nftlb.io", "/mutate")}
---
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingWebhookConfiguration
metadata: { name: ${name} }
webhooks:${webhook("validate.kube-nftlb.io", "/validate")}
`;
}

export interface Result {
  status: number;
  stdout: string;
  stderr: string;
}

function exec(cmd: string, args: string[], input?: string): Promise<Result> {
  return new Promise((resolve) => {
    const child = spawn(cmd, args);
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    child.on("error", (err) => resolve({ status: -1, stdout, stderr: err.message }));
    child.on("close", (code) => resolve({ status: code ?? -1, stdout, stderr }));
    child.stdin.end(input ?? "");
  });
}

export interface Lab {
  api: ApiServer;
  /** Async on purpose: the stand-in runs in this process, so a blocking spawn would starve it. */
  kubectl(args: string[], input?: string): Promise<Result>;
  stores: { secrets: SecretStore; webhooks: WebhookConfigStore };
  /** Runs `kube-nftlb certs ...` as a separate process against the stand-in. */
  cli(args: string[]): Promise<Result>;
  stop(): Promise<void>;
}

export async function startLab(opts: ApiServerOptions = {}, configs = webhookConfigsYaml()): Promise<Lab> {
  const api = await startApiServer(opts);
  const kubectl = (args: string[], input?: string) =>
    exec("kubectl", ["--kubeconfig", api.kubeconfigPath, ...args], input);
  const applied = await kubectl(["apply", "-f", "-"], configs);
  if (applied.status !== 0) {
    await api.stop();
    throw new Error(`kubectl apply failed: ${applied.stderr}`);
  }
  const loaded = loadKubeConfig(api.kubeconfigPath);
  if (!loaded.ok) throw new Error(loaded.error);
  const cli = (args: string[]) =>
    exec(process.execPath, [
      join(ROOT, "bin", "kube-nftlb.js"),
      "certs",
      ...args,
      "--kubeconfig",
      api.kubeconfigPath,
    ]);
  return {
    api,
    kubectl,
    stores: { secrets: kubeSecretStore(loaded.kc), webhooks: kubeWebhookConfigStore(loaded.kc) },
    cli,
    stop: () => api.stop(),
  };
}

export const ENSURE_ARGS = [
  "ensure",
  "--namespace",
  NS,
  "--service",
  SVC,
  "--secret",
  SECRET,
  "--webhook",
  CONFIG,
];

/** The Secret's files and each webhook's caBundle, decoded, as the API server holds them. */
export interface State {
  type: string;
  files: Record<string, string>;
  bundles: string[];
  resourceVersions: string[];
}

export async function readBack(lab: Lab, secretName = SECRET, config = CONFIG): Promise<State> {
  const secret = await lab.kubectl([
    "get",
    "secret",
    "-n",
    NS,
    secretName,
    "-o",
    "json",
    "--ignore-not-found",
  ]);
  const s =
    secret.stdout.trim() === ""
      ? {}
      : (JSON.parse(secret.stdout) as {
          type?: string;
          data?: Record<string, string>;
          metadata?: { resourceVersion?: string };
        });
  const files = Object.fromEntries(
    Object.entries(s.data ?? {}).map(([k, v]) => [k, Buffer.from(v, "base64").toString("utf8")]),
  );
  const rvs = [s.metadata?.resourceVersion ?? ""];
  const bundles: string[] = [];
  for (const kind of ["mutatingwebhookconfiguration", "validatingwebhookconfiguration"]) {
    const out = await lab.kubectl(["get", kind, config, "-o", "json"]);
    const c = JSON.parse(out.stdout) as {
      metadata: { resourceVersion: string };
      webhooks: { clientConfig: { caBundle?: string } }[];
    };
    rvs.push(c.metadata.resourceVersion);
    for (const w of c.webhooks)
      bundles.push(Buffer.from(w.clientConfig.caBundle ?? "", "base64").toString("utf8"));
  }
  return { type: s.type ?? "", files, bundles, resourceVersions: rvs };
}

/** The same as readBack, through client-node in this process: no kubectl start-up per read. */
export async function readState(lab: Lab, secretName = SECRET, config = CONFIG): Promise<State> {
  const s = await lab.stores.secrets.get(NS, secretName);
  const files = Object.fromEntries(
    Object.entries(s?.data ?? {}).map(([k, v]) => [k, Buffer.from(v, "base64").toString("utf8")]),
  );
  const rvs = [s?.metadata?.resourceVersion ?? ""];
  const bundles: string[] = [];
  for (const kind of ["MutatingWebhookConfiguration", "ValidatingWebhookConfiguration"] as const) {
    const c = await lab.stores.webhooks.get(kind, config);
    rvs.push(c?.metadata?.resourceVersion ?? "");
    for (const w of c?.webhooks ?? []) {
      bundles.push(Buffer.from(w.clientConfig?.caBundle ?? "", "base64").toString("utf8"));
    }
  }
  return { type: s?.type ?? "", files, bundles, resourceVersions: rvs };
}
