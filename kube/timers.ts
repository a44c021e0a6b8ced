// Time as a dependency: the informer supervisor and the work queue take timers as an argument so
// that tests drive time by hand instead of sleeping.

export interface Timer {
  cancel(): void;
}

export interface Timers {
  now(): number;
  /** Runs `fn` after `ms`; the returned handle cancels it. Timers never keep the process alive. */
  after(ms: number, fn: () => void): Timer;
}

export const realTimers: Timers = {
  now: () => Date.now(),
  after(ms, fn) {
    // 0 means "on the event loop's next turn, after the I/O already read": setImmediate. A
    // setTimeout(0) is clamped to 1 ms, which every change paid in the queue's batch window.
    if (ms <= 0) {
      const i = setImmediate(fn);
      i.unref();
      return { cancel: () => clearImmediate(i) };
    }
    const t = setTimeout(fn, ms);
    t.unref();
    return { cancel: () => clearTimeout(t) };
  },
};

/** Exponential backoff with a cap and ±`jitter` spread: attempt 0 waits `base`. */
export function backoff(
  attempt: number,
  base: number,
  cap: number,
  jitter = 0,
  random: () => number = Math.random,
): number {
  const raw = Math.min(cap, base * 2 ** Math.min(attempt, 30));
  if (jitter <= 0) return raw;
  return Math.max(0, Math.round(raw * (1 + jitter * (2 * random() - 1))));
}
