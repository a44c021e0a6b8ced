// How many large request bodies the webhook reads and judges at once. A body is amplified in
// memory many times over — the bytes, the string, then the parsed tree: one 7 MiB body of small
// JSON objects grew the process by ~290 MiB — so large bodies take turns, and while one waits its
// bytes stay unread in the kernel's socket buffers, not in our heap. Small bodies (every ordinary
// Service review) never come here (webhook/app.ts); their number is bounded by the connection cap.

export interface BodyGateOptions {
  /** Large bodies read and judged at once. */
  slots: number;
  /** Requests waiting at once; one more is turned away at once. */
  maxWaiting: number;
  /** Told the bodies being read and those waiting after every change (metrics). */
  onChange?: (reading: number, waiting: number) => void;
}

/** Give back the slot; idempotent. */
export type Release = () => void;

export class BodyGate {
  readonly #opts: BodyGateOptions;
  #free: number;
  readonly #waiting: ((release: Release) => void)[] = [];

  constructor(opts: BodyGateOptions) {
    this.#opts = opts;
    this.#free = opts.slots;
  }

  /** A release once a slot is free, or "busy" when too many wait or `signal` aborts first (first come, first served). */
  enter(signal: AbortSignal): Promise<Release | "busy"> {
    if (this.#waiting.length === 0 && this.#free > 0) return Promise.resolve(this.#take());
    if (this.#waiting.length >= this.#opts.maxWaiting || signal.aborted) return Promise.resolve("busy");
    return new Promise((resolve) => {
      const grant = (release: Release) => {
        signal.removeEventListener("abort", abandon);
        resolve(release);
      };
      const abandon = () => {
        const i = this.#waiting.indexOf(grant);
        if (i >= 0) this.#waiting.splice(i, 1);
        this.#changed();
        resolve("busy");
      };
      signal.addEventListener("abort", abandon, { once: true });
      this.#waiting.push(grant);
      this.#changed();
    });
  }

  #changed(): void {
    this.#opts.onChange?.(this.#opts.slots - this.#free, this.#waiting.length);
  }

  #take(): Release {
    this.#free--;
    this.#changed();
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.#free++;
      const next = this.#waiting.shift();
      if (next) next(this.#take());
      else this.#changed();
    };
  }
}
