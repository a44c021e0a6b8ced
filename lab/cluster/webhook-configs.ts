// The admission webhook configurations the lab registers: deploy/webhook/'s (the product's own),
// or, in a checkout without them, the lab's equivalent. Either way the caBundle comes from
// `kube-nftlb certs ensure`, as in a cluster.
import { existsSync, readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { parseAllDocuments } from "yaml";
import { REPO } from "./deploy-args.ts";

export interface WebhookConfig {
  apiVersion: string;
  kind: "MutatingWebhookConfiguration" | "ValidatingWebhookConfiguration";
  metadata: { name: string };
  webhooks: { name: string; clientConfig: { service?: { namespace: string; name: string } } }[];
}

export const WEBHOOK_NAMESPACE = "kube-nftlb";
export const WEBHOOK_SERVICE = "kube-nftlb-webhook";
export const WEBHOOK_SECRET = "kube-nftlb-webhook-tls";

const webhook = (kind: "mutate" | "validate") => ({
  name: `${kind}.kube-nftlb.io`,
  clientConfig: {
    service: { namespace: WEBHOOK_NAMESPACE, name: WEBHOOK_SERVICE, path: `/${kind}`, port: 443 },
  },
  rules: [
    {
      apiGroups: [""],
      apiVersions: ["v1"],
      operations: ["CREATE", "UPDATE"],
      resources: ["services"],
      scope: "Namespaced",
    },
  ],
  namespaceSelector: {
    matchExpressions: [
      { key: "kubernetes.io/metadata.name", operator: "NotIn", values: ["kube-system", WEBHOOK_NAMESPACE] },
    ],
  },
  admissionReviewVersions: ["v1"],
  sideEffects: "None",
  timeoutSeconds: 5,
  failurePolicy: "Fail",
  ...(kind === "mutate" ? { reinvocationPolicy: "Never" } : {}),
});

const BUILT_IN: WebhookConfig[] = [
  {
    apiVersion: "admissionregistration.k8s.io/v1",
    kind: "MutatingWebhookConfiguration",
    metadata: { name: "kube-nftlb" },
    webhooks: [webhook("mutate")],
  },
  {
    apiVersion: "admissionregistration.k8s.io/v1",
    kind: "ValidatingWebhookConfiguration",
    metadata: { name: "kube-nftlb" },
    webhooks: [webhook("validate")],
  },
];

export function webhookConfigs(): { configs: WebhookConfig[]; source: string } {
  const dir = path.join(REPO, "deploy", "webhook");
  const found: WebhookConfig[] = [];
  if (existsSync(dir)) {
    for (const f of readdirSync(dir).filter((x) => /\.ya?ml$/.test(x) && x !== "kustomization.yaml")) {
      for (const doc of parseAllDocuments(readFileSync(path.join(dir, f), "utf8"))) {
        const o = doc.toJS() as WebhookConfig | null;
        if (o?.kind === "MutatingWebhookConfiguration" || o?.kind === "ValidatingWebhookConfiguration")
          found.push(o);
      }
    }
  }
  return found.length > 0
    ? { configs: found, source: "deploy/webhook/" }
    : { configs: BUILT_IN, source: "lab built-in" };
}
