// Ordered shutdown: the steps run one after another, in the order they were added (e.g. "not
// ready", "stop accepting and finish in-flight requests", "close the probe port"). A step that
// fails is logged and the next one still runs; a deadline bounds the whole.
import type { Logger } from "pino";

export interface Shutdown {
  /** Add a step; steps run in the order added. */
  add(name: string, step: () => Promise<void> | void): void;
  /** Run every step once; later calls return the same promise. */
  run(reason: string): Promise<void>;
  /** Run on the first of these signals; resolves with the signal's name when done. */
  onSignals(signals?: readonly NodeJS.Signals[]): Promise<string>;
  readonly started: boolean;
}

export interface ShutdownOptions {
  log: Logger;
  /** Deadline for all steps; a step still running then is abandoned. */
  timeoutMs?: number;
}

export function createShutdown(opts: ShutdownOptions): Shutdown {
  const steps: { name: string; step: () => Promise<void> | void }[] = [];
  let running: Promise<void> | undefined;

  const runSteps = async (): Promise<void> => {
    for (const { name, step } of steps) {
      try {
        await step();
        opts.log.info({ step: name }, "shutdown step done");
      } catch (err) {
        opts.log.error({ step: name, err }, "shutdown step failed");
      }
    }
  };

  const run = (reason: string): Promise<void> => {
    if (running) return running;
    opts.log.info({ reason }, "shutting down");
    const deadline = opts.timeoutMs ?? 30_000;
    running = new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        opts.log.warn({ deadlineMs: deadline }, "shutdown deadline reached; abandoning remaining steps");
        resolve();
      }, deadline);
      timer.unref();
      void runSteps().then(() => {
        clearTimeout(timer);
        resolve();
      });
    });
    return running;
  };

  return {
    add: (name, step) => void steps.push({ name, step }),
    run,
    onSignals: (signals = ["SIGTERM", "SIGINT"]) =>
      new Promise<string>((resolve) => {
        const handler = (signal: NodeJS.Signals): void => {
          for (const s of signals) process.off(s, handler);
          void run(signal).then(() => resolve(signal));
        };
        for (const s of signals) process.on(s, handler);
      }),
    get started() {
      return running !== undefined;
    },
  };
}
