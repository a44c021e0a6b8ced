// Small in-memory stand-ins for the two stores certs/ensure.ts uses, with Kubernetes' rules that
// matter here (resourceVersion preconditions, 409 on create of an existing name, 404 for a missing
// namespace, JSON-patch `test` failures as 422), a log of writes, and injectable faults. Every
// call yields to the event loop first so concurrent runs really interleave.
import { setImmediate as yieldNow } from "node:timers/promises";
import type { RawSecret } from "./secret.ts";
import {
  ApiError,
  type CaBundleChange,
  type SecretStore,
  type WebhookConfig,
  type WebhookConfigStore,
  type WebhookKind,
} from "./stores.ts";

export type Op = "secret.get" | "secret.create" | "secret.update" | "webhook.get" | "webhook.patch";

export class FakeCluster implements SecretStore, WebhookConfigStore {
  namespaces = new Set<string>(["kube-system"]);
  secrets = new Map<string, RawSecret>();
  configs = new Map<string, WebhookConfig>();
  writes: string[] = [];
  /** Called before each operation; throw to inject a fault, or change state to race. */
  before: (op: Op, what: string) => void = () => {};
  private rv = 100;

  private async enter(op: Op, what: string): Promise<void> {
    await yieldNow();
    this.before(op, what);
  }

  addConfig(
    kind: WebhookKind,
    name: string,
    webhooks: { name: string; service?: string; namespace?: string }[],
  ): void {
    this.configs.set(`${kind}/${name}`, {
      metadata: { name, resourceVersion: String(this.rv++) },
      webhooks: webhooks.map((w) => ({
        name: w.name,
        clientConfig: {
          service: {
            name: w.service ?? "kube-nftlb",
            namespace: w.namespace ?? "kube-system",
            path: "/validate",
            port: 443,
          },
        },
      })),
    });
  }

  async get(namespace: string, name: string): Promise<RawSecret | undefined>;
  async get(kind: WebhookKind, name: string): Promise<WebhookConfig | undefined>;
  async get(a: string, name: string): Promise<RawSecret | WebhookConfig | undefined> {
    if (a.endsWith("WebhookConfiguration")) {
      await this.enter("webhook.get", `${a}/${name}`);
      return structuredClone(this.configs.get(`${a}/${name}`));
    }
    await this.enter("secret.get", `${a}/${name}`);
    return structuredClone(this.secrets.get(`${a}/${name}`));
  }

  async create(namespace: string, secret: RawSecret): Promise<RawSecret> {
    const key = `${namespace}/${secret.metadata?.name ?? ""}`;
    await this.enter("secret.create", key);
    if (!this.namespaces.has(namespace)) throw new ApiError(404, `namespaces "${namespace}" not found`);
    if (this.secrets.has(key))
      throw new ApiError(409, `secrets "${secret.metadata?.name ?? ""}" already exists`);
    const stored = {
      ...structuredClone(secret),
      metadata: { ...secret.metadata, resourceVersion: String(this.rv++) },
    };
    this.secrets.set(key, stored);
    this.writes.push(`create secret ${key}`);
    return structuredClone(stored);
  }

  async update(namespace: string, secret: RawSecret): Promise<RawSecret> {
    const key = `${namespace}/${secret.metadata?.name ?? ""}`;
    await this.enter("secret.update", key);
    const current = this.secrets.get(key);
    if (current === undefined) throw new ApiError(404, `secrets "${secret.metadata?.name ?? ""}" not found`);
    if (current.metadata?.resourceVersion !== secret.metadata?.resourceVersion) {
      throw new ApiError(
        409,
        `Operation cannot be fulfilled on secrets "${secret.metadata?.name ?? ""}": the object has been modified`,
      );
    }
    const stored = {
      ...structuredClone(secret),
      metadata: { ...secret.metadata, resourceVersion: String(this.rv++) },
    };
    this.secrets.set(key, stored);
    this.writes.push(`update secret ${key}`);
    return structuredClone(stored);
  }

  async patchCaBundles(kind: WebhookKind, name: string, changes: CaBundleChange[]): Promise<void> {
    const key = `${kind}/${name}`;
    await this.enter("webhook.patch", key);
    const config = this.configs.get(key);
    if (config === undefined) throw new ApiError(404, `${kind} "${name}" not found`);
    const next = structuredClone(config);
    for (const c of changes) {
      const w = next.webhooks?.[c.index];
      if (w?.name !== c.name)
        throw new ApiError(422, `the server rejected our request due to an error in our request`);
      w.clientConfig = { ...w.clientConfig, caBundle: c.caBundle };
    }
    next.metadata = { ...next.metadata, resourceVersion: String(this.rv++) };
    this.configs.set(key, next);
    this.writes.push(`patch ${key} ${changes.map((c) => c.name).join(",")}`);
  }

  /** Every caBundle, decoded. */
  bundles(): string[] {
    return [...this.configs.values()].flatMap((c) =>
      (c.webhooks ?? []).map((w) => Buffer.from(w.clientConfig?.caBundle ?? "", "base64").toString("utf8")),
    );
  }

  secretFile(key: string, ns = "kube-system", name = "kube-nftlb-certs"): string | undefined {
    const v = this.secrets.get(`${ns}/${name}`)?.data?.[key];
    return v === undefined ? undefined : Buffer.from(v, "base64").toString("utf8");
  }
}
