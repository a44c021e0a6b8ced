// Request deadlines, all checked by one timer, rather than a timer of their own each: setting and
// clearing a Timeout and the 'close' listener that clears it cost every review about a
// microsecond (bench/webhook.ts --profile), and nearly every deadline is cancelled within a
// millisecond. The server's own requestTimeout cannot stand in: it answers a bare 408, not an
// AdmissionReview, and cannot honour the API server's shorter `?timeout=` per request.

/** How often pending deadlines are checked: a deadline fires at most this late. */
export const DEADLINE_TICK_MS = 100;

export interface Deadline {
  readonly at: number;
  readonly expire: () => void;
}

export class Deadlines {
  readonly #tickMs: number;
  readonly #pending = new Set<Deadline>();
  #timer: NodeJS.Timeout | undefined;

  constructor(tickMs = DEADLINE_TICK_MS) {
    this.#tickMs = tickMs;
  }

  /** `expire` runs once `ms` have passed (up to a tick late), unless `cancel`led first. */
  add(ms: number, expire: () => void): Deadline {
    const deadline = { at: performance.now() + ms, expire };
    this.#pending.add(deadline);
    if (this.#timer === undefined) {
      this.#timer = setInterval(() => this.#check(), this.#tickMs);
      this.#timer.unref();
    }
    return deadline;
  }

  cancel(deadline: Deadline | undefined): void {
    if (deadline !== undefined) this.#pending.delete(deadline);
  }

  #check(): void {
    const now = performance.now();
    for (const d of this.#pending) {
      if (d.at > now) continue;
      this.#pending.delete(d);
      d.expire();
    }
    // Idle, nothing to check: the timer goes until the next request.
    if (this.#pending.size === 0) {
      clearInterval(this.#timer);
      this.#timer = undefined;
    }
  }
}
