// The tests' one polling helper: wait for a condition with a deadline, never for a fixed time.
// Test helper, not a test.

export interface UntilOptions {
  /** How long to wait in all; default 30 s. */
  timeoutMs?: number;
  /** Pause between polls; default 25 ms. */
  intervalMs?: number;
  /** Appended to the timeout message (e.g. a process's log so far). */
  detail?: () => string;
  /** Checked before each poll: a reason ends the wait at once (e.g. the process under test died). */
  stopIf?: () => string | undefined;
}

type Falsy = undefined | false | null;

/**
 * Polls `cond` until it returns something other than undefined, null or false, and returns that.
 * A throw counts as "not yet"; the last one is named in the timeout message, which reads
 * "timed out after N ms waiting for <what>: <last error>; <detail>".
 */
export async function until<T>(
  what: string,
  cond: () => T | Falsy | Promise<T | Falsy>,
  options: UntilOptions | number = {},
): Promise<Exclude<T, Falsy>> {
  const o = typeof options === "number" ? { timeoutMs: options } : options;
  const timeoutMs = o.timeoutMs ?? 30_000;
  const deadline = performance.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    const stop = o.stopIf?.();
    if (stop !== undefined) throw new Error(`gave up waiting for ${what}: ${stop}`);
    try {
      const v = await cond();
      if (v !== undefined && v !== null && v !== false) return v as Exclude<T, Falsy>;
    } catch (err) {
      last = err;
    }
    if (performance.now() > deadline) {
      const why =
        last === undefined ? "" : `: ${last instanceof Error ? last.message : JSON.stringify(last)}`;
      const more = o.detail === undefined ? "" : `; ${o.detail()}`;
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${why}${more}`);
    }
    await new Promise((r) => setTimeout(r, o.intervalMs ?? 25));
  }
}

/** The same, returning how long the condition took to hold, in ms (to print, never to assert). */
export async function untilTimed(
  what: string,
  cond: () => unknown,
  options: UntilOptions | number = {},
): Promise<number> {
  const start = performance.now();
  await until(what, cond, options);
  return performance.now() - start;
}
