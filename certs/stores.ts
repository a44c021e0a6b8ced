// The two things `certs ensure` needs from the Kubernetes API, as small interfaces: kube.ts
// implements them with @kubernetes/client-node; unit tests pass in-memory fakes.
import type { RawSecret } from "./secret.ts";

export const WEBHOOK_KINDS = ["MutatingWebhookConfiguration", "ValidatingWebhookConfiguration"] as const;
export type WebhookKind = (typeof WEBHOOK_KINDS)[number];

export interface Webhook {
  name?: string;
  clientConfig?: {
    caBundle?: string;
    url?: string;
    service?: { name?: string; namespace?: string; path?: string; port?: number };
  };
}

export interface WebhookConfig {
  metadata?: { name?: string; resourceVersion?: string };
  webhooks?: Webhook[];
}

/** One caBundle change: webhook `index` (named `name`, checked by the server) gets `caBundle`. */
export interface CaBundleChange {
  index: number;
  name: string;
  /** base64 of the PEM bundle, as the field is carried on the wire. */
  caBundle: string;
}

/** An answer from the API server other than success; `status` is the HTTP status code. */
export class ApiError extends Error {
  readonly status: number;
  constructor(status: number, message: string) {
    super(message);
    this.name = "ApiError";
    this.status = status;
  }
}

export interface SecretStore {
  /** undefined when the Secret does not exist. */
  get(namespace: string, name: string): Promise<RawSecret | undefined>;
  /** Throws ApiError 409 when it already exists, 404 when the namespace does not. */
  create(namespace: string, secret: RawSecret): Promise<RawSecret>;
  /** `secret.metadata.resourceVersion` is a precondition: ApiError 409 when it is stale. */
  update(namespace: string, secret: RawSecret): Promise<RawSecret>;
}

export interface WebhookConfigStore {
  /** undefined when no configuration of that kind has that name. */
  get(kind: WebhookKind, name: string): Promise<WebhookConfig | undefined>;
  /**
   * Sets the caBundles with a JSON patch that tests each webhook's name at its index first, so a
   * list reordered meanwhile fails (ApiError 409 or 422) instead of patching the wrong webhook,
   * and leaves every other field as the server holds it.
   */
  patchCaBundles(kind: WebhookKind, name: string, changes: CaBundleChange[]): Promise<void>;
}
