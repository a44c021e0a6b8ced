// A keyed work loop for the lab's controllers: keys coalesce while waiting, one key runs at a
// time per key (the loop runs `concurrency` different keys at once), a key changed while it
// runs runs once more after, and a failed or "look again later" key comes back after a delay.

export interface WorkLoop {
  add(key: string): void;
  /** run `key` again at `at` (ms since the epoch), unless something adds it sooner */
  addAt(key: string, at: number): void;
  /** resolves once nothing is waiting or running */
  idle(): Promise<void>;
  stop(): void;
}

/** `handle` returns a time to look again, or undefined when the key is done. Throwing retries. */
export function workLoop(
  handle: (key: string) => Promise<number | undefined>,
  opts: { concurrency?: number; retryMs?: number; onError?: (key: string, err: unknown) => void } = {},
): WorkLoop {
  const waiting = new Set<string>();
  const running = new Set<string>();
  const dirty = new Set<string>();
  const timers = new Map<string, NodeJS.Timeout>();
  const idleWaiters: (() => void)[] = [];
  let stopped = false;

  const settle = () => {
    if (waiting.size === 0 && running.size === 0) for (const w of idleWaiters.splice(0)) w();
  };

  const later = (key: string, at: number) => {
    if (stopped) return;
    clearTimeout(timers.get(key));
    const t = setTimeout(
      () => {
        timers.delete(key);
        add(key);
      },
      Math.max(0, at - Date.now()),
    );
    t.unref();
    timers.set(key, t);
  };

  const pump = () => {
    while (!stopped && running.size < (opts.concurrency ?? 4)) {
      const key = [...waiting].find((k) => !running.has(k));
      if (key === undefined) break;
      waiting.delete(key);
      running.add(key);
      void handle(key)
        .then(
          (again) => {
            if (again !== undefined) later(key, again);
          },
          (err: unknown) => {
            opts.onError?.(key, err);
            later(key, Date.now() + (opts.retryMs ?? 500));
          },
        )
        .finally(() => {
          running.delete(key);
          if (dirty.delete(key)) waiting.add(key);
          pump();
          settle();
        });
    }
  };

  const add = (key: string) => {
    if (stopped) return;
    if (running.has(key)) dirty.add(key);
    else waiting.add(key);
    pump();
  };

  return {
    add,
    addAt: later,
    idle: () =>
      new Promise((resolve) => {
        idleWaiters.push(resolve);
        settle();
      }),
    stop: () => {
      stopped = true;
      for (const t of timers.values()) clearTimeout(t);
      timers.clear();
      waiting.clear();
    },
  };
}
