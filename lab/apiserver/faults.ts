// Fault injection for tests: drop every open watch connection, expire watches (compaction: a
// watch from an older resourceVersion gets 410), answer 500s or 429s (with Retry-After) for a
// while, or delay every request.
import type { ServerResponse } from "node:http";
import { failure, type Status } from "./status.ts";
import type { Store } from "./store.ts";

export interface FailRequests {
  status: 500 | 429;
  forMs: number;
  /** which requests fail: a predicate, a RegExp or a substring of "METHOD /path?query" (default: all) */
  match?: ((method: string, path: string) => boolean) | RegExp | string;
}

export class Faults {
  readonly #store: Store;
  readonly #watches: Set<ServerResponse>;
  #failures: (FailRequests & { until: number })[] = [];
  #latencyMs = 0;

  constructor(store: Store, watches: Set<ServerResponse>) {
    this.#store = store;
    this.#watches = watches;
  }

  /** Cuts every open watch connection without a word, as a broken network or a crashed LB would. */
  dropWatches(): number {
    const n = this.#watches.size;
    for (const w of [...this.#watches]) w.destroy();
    return n;
  }

  /** Compacts history and ends open watches: re-watching from an old resourceVersion gets 410 Expired. */
  expireWatches(): number {
    this.#store.compact();
    const n = this.#watches.size;
    for (const w of [...this.#watches]) w.end();
    return n;
  }

  failRequests(f: FailRequests): void {
    this.#failures.push({ ...f, until: Date.now() + f.forMs });
  }

  latency(ms: number): void {
    this.#latencyMs = Math.max(0, ms);
  }

  reset(): void {
    this.#failures = [];
    this.#latencyMs = 0;
  }

  get openWatches(): number {
    return this.#watches.size;
  }

  get latencyMs(): number {
    return this.#latencyMs;
  }

  /** The injected failure for this request, if any. */
  check(method: string, path: string): { status: Status; headers: Record<string, string> } | undefined {
    const now = Date.now();
    this.#failures = this.#failures.filter((f) => f.until > now);
    const line = `${method} ${path}`;
    const f = this.#failures.find(({ match }) =>
      match === undefined
        ? true
        : typeof match === "string"
          ? line.includes(match)
          : match instanceof RegExp
            ? match.test(line)
            : match(method, path),
    );
    if (f === undefined) return undefined;
    if (f.status === 429) {
      const s = failure(429, "TooManyRequests", "Too many requests, please try again later.", {
        retryAfterSeconds: 1,
      }).status;
      return { status: s, headers: { "Retry-After": "1" } };
    }
    return {
      status: failure(500, "InternalError", "Internal error occurred: injected by the lab's fault API", {
        causes: [{ message: "injected by the lab's fault API" }],
      }).status,
      headers: {},
    };
  }
}
