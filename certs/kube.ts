// The stores of stores.ts over @kubernetes/client-node 2.x. Thin: one call per method, API
// errors turned into ApiError with the verb, the object and the server's own message.
import {
  AdmissionregistrationV1Api,
  ApiException,
  CoreV1Api,
  type KubeConfig,
  PatchStrategy,
  setHeaderOptions,
} from "@kubernetes/client-node";
import type { RawSecret } from "./secret.ts";
import {
  ApiError,
  type CaBundleChange,
  type SecretStore,
  type WebhookConfig,
  type WebhookConfigStore,
  type WebhookKind,
} from "./stores.ts";

/**
 * Servers quote request bodies in some errors ("Object 'Kind' is missing in '{...}'"): a Secret
 * body holds private keys, so long base64 runs are cut out and the message is capped.
 */
export function scrub(message: string): string {
  const cut = message.replace(/[A-Za-z0-9+/=_-]{40,}/g, "<redacted>");
  return cut.length > 400 ? `${cut.slice(0, 400)}…` : cut;
}

/** The Status message the server sent, else the HTTP status. */
function apiError(err: unknown, what: string): unknown {
  if (!(err instanceof ApiException)) {
    return err instanceof Error ? new ApiError(0, `${what}: ${err.message}`) : err;
  }
  const code = (err as ApiException<unknown>).code;
  let message = "";
  const body: unknown = (err as ApiException<unknown>).body;
  try {
    const parsed: unknown = typeof body === "string" ? JSON.parse(body) : body;
    if (
      typeof parsed === "object" &&
      parsed !== null &&
      typeof (parsed as { message?: unknown }).message === "string"
    ) {
      message = (parsed as { message: string }).message;
    }
  } catch {
    message = typeof body === "string" ? body.slice(0, 200) : "";
  }
  return new ApiError(code, `${what}: ${code}${message === "" ? "" : ` ${scrub(message)}`}`);
}

async function call<T>(what: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw apiError(err, what);
  }
}

export function kubeSecretStore(kc: KubeConfig): SecretStore {
  const core = kc.makeApiClient(CoreV1Api);
  return {
    async get(namespace, name) {
      try {
        return await core.readNamespacedSecret({ name, namespace });
      } catch (err) {
        if (err instanceof ApiException && (err as ApiException<unknown>).code === 404) return undefined;
        throw apiError(err, `GET Secret ${namespace}/${name}`);
      }
    },
    create: (namespace, secret) =>
      call(
        `CREATE Secret ${namespace}/${secret.metadata?.name ?? ""}`,
        async () => (await core.createNamespacedSecret({ namespace, body: secret })) as RawSecret,
      ),
    update: (namespace, secret) => {
      const name = secret.metadata?.name ?? "";
      return call(
        `UPDATE Secret ${namespace}/${name}`,
        async () => (await core.replaceNamespacedSecret({ name, namespace, body: secret })) as RawSecret,
      );
    },
  };
}

export function kubeWebhookConfigStore(kc: KubeConfig): WebhookConfigStore {
  const api = kc.makeApiClient(AdmissionregistrationV1Api);
  const jsonPatch = setHeaderOptions("Content-Type", PatchStrategy.JsonPatch);
  return {
    async get(kind: WebhookKind, name: string): Promise<WebhookConfig | undefined> {
      try {
        return kind === "MutatingWebhookConfiguration"
          ? await api.readMutatingWebhookConfiguration({ name })
          : await api.readValidatingWebhookConfiguration({ name });
      } catch (err) {
        if (err instanceof ApiException && (err as ApiException<unknown>).code === 404) return undefined;
        throw apiError(err, `GET ${kind} ${name}`);
      }
    },
    async patchCaBundles(kind: WebhookKind, name: string, changes: CaBundleChange[]): Promise<void> {
      // `test` the name at each index first: a list reordered since we read it fails the whole
      // patch (422) instead of giving a caBundle to the wrong webhook. `add` sets or replaces.
      const body = changes.flatMap((c) => [
        { op: "test", path: `/webhooks/${c.index}/name`, value: c.name },
        { op: "add", path: `/webhooks/${c.index}/clientConfig/caBundle`, value: c.caBundle },
      ]);
      await call(`PATCH ${kind} ${name}`, () =>
        kind === "MutatingWebhookConfiguration"
          ? api.patchMutatingWebhookConfiguration({ name, body }, jsonPatch)
          : api.patchValidatingWebhookConfiguration({ name, body }, jsonPatch),
      );
    },
  };
}
