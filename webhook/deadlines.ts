// Request deadlines, all checked by one timer, rather than a timer of their own each: setting and
// clearing a Timeout and the 'close' listener that clears it cost every review about a
// microsecond (bench/webhook.ts --profile), and nearly every deadline is cancelled within a
// millisecond. A deadline is two fields on its owner (the response) and a place in an array: no
// closure, record or hashing per request. The server's own requestTimeout cannot stand in: it
// answers a bare 408, not an AdmissionReview, and cannot honour the API server's shorter
// `?timeout=` per request.

/** How often pending deadlines are checked: a deadline fires at most this late. */
export const DEADLINE_TICK_MS = 100;

const AT = Symbol("deadline");
const SLOT = Symbol("slot");
type Owned = { [AT]?: number; [SLOT]?: number };

export class Deadlines<T extends object> {
  readonly #tickMs: number;
  readonly #expire: (owner: T) => void;
  /** Owners with a deadline, in no order; each holds its deadline and its index here. */
  readonly #pending: (T & Owned)[] = [];
  #timer: NodeJS.Timeout | undefined;

  /** `expire(owner)` runs once an owner's deadline has passed (up to a tick late), unless cancelled first. */
  constructor(expire: (owner: T) => void, tickMs = DEADLINE_TICK_MS) {
    this.#expire = expire;
    this.#tickMs = tickMs;
  }

  /** `at`: performance.now() ms. Setting an owner's deadline again replaces it. */
  add(owner: T, at: number): void {
    const o = owner as T & Owned;
    o[AT] = at;
    if (o[SLOT] === undefined) o[SLOT] = this.#pending.push(o) - 1;
    if (this.#timer === undefined) {
      this.#timer = setInterval(() => this.#check(), this.#tickMs);
      this.#timer.unref();
    }
  }

  cancel(owner: T): void {
    const o = owner as T & Owned;
    const slot = o[SLOT];
    if (slot === undefined) return;
    o[SLOT] = undefined;
    // The last one takes the cancelled one's place: no search, no hole.
    const last = this.#pending.pop()!;
    if (last !== o) {
      this.#pending[slot] = last;
      last[SLOT] = slot;
    }
  }

  #check(): void {
    const now = performance.now();
    const due = this.#pending.filter((o) => o[AT]! <= now);
    for (const o of due) {
      // One expiry may answer (and cancel) another that is due too: each is checked again.
      if (o[SLOT] === undefined) continue;
      this.cancel(o);
      this.#expire(o);
    }
    // Idle, nothing to check: the timer goes until the next request.
    if (this.#pending.length === 0) {
      clearInterval(this.#timer);
      this.#timer = undefined;
    }
  }
}
