// Hand-driven timers for tests: `advance(ms)` runs every timer due by then, in order.
import type { Timer, Timers } from "./timers.ts";

interface Pending {
  at: number;
  seq: number;
  fn: () => void;
}

export class FakeTimers implements Timers {
  #now = 0;
  #seq = 0;
  #pending: Pending[] = [];

  now(): number {
    return this.#now;
  }

  after(ms: number, fn: () => void): Timer {
    const p: Pending = { at: this.#now + Math.max(0, ms), seq: this.#seq++, fn };
    this.#pending.push(p);
    return { cancel: () => void (this.#pending = this.#pending.filter((x) => x !== p)) };
  }

  /** How many timers are waiting. */
  get waiting(): number {
    return this.#pending.length;
  }

  /** The delays (from now) of the waiting timers, soonest first. */
  delays(): number[] {
    return this.#pending.map((p) => p.at - this.#now).sort((a, b) => a - b);
  }

  /** Moves time forward, firing due timers in order; settles promises between timers. */
  async advance(ms: number): Promise<void> {
    const until = this.#now + ms;
    for (;;) {
      await settle();
      const due = this.#pending.filter((p) => p.at <= until).sort((a, b) => a.at - b.at || a.seq - b.seq)[0];
      if (due === undefined) break;
      this.#pending = this.#pending.filter((p) => p !== due);
      this.#now = due.at;
      due.fn();
    }
    this.#now = until;
    await settle();
  }
}

/** Lets every already-queued promise continuation run (several rounds, for chains). */
export async function settle(rounds = 20): Promise<void> {
  for (let i = 0; i < rounds; i++) await new Promise<void>((r) => setImmediate(r));
}
