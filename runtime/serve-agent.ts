// The shared life of a node agent command (node-rules, conntrack-agent): start it, report a
// failure to start as exit 1 with one log line, then serve until SIGTERM/SIGINT and close it.
import type { Logger } from "./log.ts";
import { exitOnCrash } from "./crash.ts";
import { createShutdown } from "./shutdown.ts";

export const serveAgent = async (
  what: string,
  log: Logger,
  start: () => Promise<{ close(): Promise<void> }>,
): Promise<number> => {
  exitOnCrash(log);
  let agent;
  try {
    agent = await start();
  } catch (err) {
    log.error({ err: (err as Error).message }, `${what} agent could not start`);
    return 1;
  }
  const shutdown = createShutdown({ log });
  shutdown.add(what, () => agent.close());
  await shutdown.onSignals();
  return 0;
};
