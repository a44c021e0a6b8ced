// The proxy's own health, as kube-proxy's ProxyHealthServer decides it
// (pkg/proxy/healthcheck/proxy_health.go). Pure: the clock is passed in.
//
// - Healthy while starting and whenever nothing is queued; a change queued starts a clock that a
//   successful sync stops. Unhealthy once the oldest change still queued is `timeoutMs` old.
// - /healthz is also 503 while the Node is not eligible: being deleted (deletionTimestamp) or
//   tainted ToBeDeletedByClusterAutoscaler. /livez ignores the Node.
// - Bodies as kube-proxy writes them: lastUpdated is "now" when healthy (its compatibility rule).

export const TO_BE_DELETED_TAINT = "ToBeDeletedByClusterAutoscaler";

export interface HealthAnswer {
  status: 200 | 503;
  body: string;
}

interface NodeLike {
  metadata?: { deletionTimestamp?: unknown };
  spec?: { taints?: readonly { key?: string }[] };
}

/** A node is eligible unless it is being deleted or the cluster autoscaler is removing it. */
export function nodeEligible(node: NodeLike | undefined): boolean {
  if (node === undefined) return true;
  if (node.metadata?.deletionTimestamp !== undefined && node.metadata.deletionTimestamp !== null)
    return false;
  return !(node.spec?.taints ?? []).some((t) => t.key === TO_BE_DELETED_TAINT);
}

/** Go's time.Time String(): "2006-01-02 15:04:05.999999999 +0000 UTC" (the zero time when unset). */
export function goTime(ms: number | undefined): string {
  if (ms === undefined) return "0001-01-01 00:00:00 +0000 UTC";
  const iso = new Date(ms).toISOString(); // 2006-01-02T15:04:05.123Z
  const frac = iso.slice(20, 23).replace(/0+$/, "");
  return `${iso.slice(0, 10)} ${iso.slice(11, 19)}${frac ? `.${frac}` : ""} +0000 UTC`;
}

export class ProxyHealth {
  readonly #timeoutMs: number;
  readonly #now: () => number;
  #lastUpdated: number | undefined;
  #oldestQueued: number | undefined;
  #eligible = true;

  constructor(opts: { timeoutMs: number; now?: () => number }) {
    this.#timeoutMs = opts.timeoutMs;
    this.#now = opts.now ?? Date.now;
  }

  /** A Service or endpoint change reached the queue (kube-proxy's QueuedUpdate). */
  queued(): void {
    this.#oldestQueued ??= this.#now();
  }

  /** A sync went through: everything queued so far is programmed (kube-proxy's Updated). */
  updated(): void {
    this.#oldestQueued = undefined;
    this.#lastUpdated = this.#now();
  }

  node(node: NodeLike | undefined): void {
    this.#eligible = nodeEligible(node);
  }

  get nodeEligible(): boolean {
    return this.#eligible;
  }

  /** Programmed within the timeout (or nothing queued); the Node is not considered. */
  healthy(): boolean {
    return this.#oldestQueued === undefined || this.#now() - this.#oldestQueued < this.#timeoutMs;
  }

  healthz(): HealthAnswer {
    const now = this.#now();
    const ok = this.healthy() && this.#eligible;
    const last = ok ? now : this.#lastUpdated;
    return {
      status: ok ? 200 : 503,
      body: `{"lastUpdated": ${JSON.stringify(goTime(last))},"currentTime": ${JSON.stringify(goTime(now))}, "nodeEligible": ${this.#eligible}}`,
    };
  }

  livez(): HealthAnswer {
    const now = this.#now();
    const ok = this.healthy();
    const last = ok ? now : this.#lastUpdated;
    return {
      status: ok ? 200 : 503,
      body: `{"lastUpdated": ${JSON.stringify(goTime(last))},"currentTime": ${JSON.stringify(goTime(now))}}`,
    };
  }
}
