// The webhook configurations' side, pure: which webhooks call our Service, what their caBundles
// trust now, and which caBundles differ from ca.crt.
import { readBundle } from "./secret.ts";
import type { CaBundleChange, WebhookConfig, WebhookKind } from "./stores.ts";

export interface FoundConfig {
  kind: WebhookKind;
  name: string;
  config: WebhookConfig;
}

/** Every webhook must call `<service>.<namespace>`: a certificate for another name would fail them all. */
export function checkTargets(found: FoundConfig[], service: string, namespace: string): string | undefined {
  for (const { kind, name, config } of found) {
    for (const [i, w] of (config.webhooks ?? []).entries()) {
      const label = `${kind} ${name}, webhook "${w.name ?? `#${i}`}"`;
      const svc = w.clientConfig?.service;
      if (svc === undefined) {
        return `${label} calls ${w.clientConfig?.url ?? "no Service"}, not a Service; certs ensure issues certificates for Services only`;
      }
      if (svc.name !== service || svc.namespace !== namespace) {
        return `${label} calls Service ${svc.namespace ?? "?"}/${svc.name ?? "?"}, but --namespace/--service say ${namespace}/${service}`;
      }
      if (typeof w.name !== "string" || w.name === "") return `${label} has no name`;
    }
  }
  return undefined;
}

/** Fingerprints each webhook's caBundle trusts now (an empty list for an empty or broken one). */
export function observedBundles(found: FoundConfig[]): string[][] {
  return found.flatMap(({ config }) =>
    (config.webhooks ?? []).map((w) => {
      const b64 = w.clientConfig?.caBundle ?? "";
      const certs = readBundle(Buffer.from(b64, "base64").toString("utf8"));
      return "error" in certs ? [] : certs.map((c) => c.fingerprint);
    }),
  );
}

/** The caBundle changes that make every webhook of `config` carry exactly `bundlePem`. */
export function bundleChanges(config: WebhookConfig, bundlePem: string): CaBundleChange[] {
  const want = Buffer.from(bundlePem, "utf8").toString("base64");
  return (config.webhooks ?? []).flatMap((w, index) =>
    w.clientConfig?.caBundle === want ? [] : [{ index, name: w.name ?? "", caBundle: want }],
  );
}
