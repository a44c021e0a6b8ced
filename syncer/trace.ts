// Where a change spends its time inside the syncer. An optional sink (benchmarks, debugging) gets
// one timestamp per stage from the real code path — informer callback, queue hand-out, plan done,
// each nftlb request sent and answered — on the monotonic clock, so a caller can line the stages
// up against its own `performance.now()` (e.g. the moment it wrote the object to the API).
import { createWriteStream } from "node:fs";
import type { Send } from "../nftlb/transport.ts";

export type TraceStage =
  /** An informer callback enqueued the key (the watch event arrived). */
  | "queued"
  /** The worker took the batch off the queue. */
  | "dequeued"
  /** desired + conflicts + capacity + plan are done; nftlb requests follow. */
  | "planned"
  /** An nftlb request was handed to the transport (`method`, `path`). */
  | "request"
  /** nftlb's answer to it arrived. */
  | "answered"
  /** The batch is finished (written and read back, or failed). */
  | "synced";

export interface TraceEvent {
  stage: TraceStage;
  /** `performance.now()` when the stage was reached. */
  at: number;
  keys?: readonly string[];
  /** "synced" only: the batch failed (nothing is known to be programmed; it is retried) */
  failed?: boolean;
  method?: string;
  path?: string;
}

export type SyncTrace = (event: TraceEvent) => void;

/** The transport, reporting every request and answer to `trace`. */
export const tracedSend =
  (send: Send, trace: SyncTrace): Send =>
  async (method, path, body, timeoutMs) => {
    trace({ stage: "request", at: performance.now(), method, path });
    const sent = await send(method, path, body, timeoutMs);
    trace({ stage: "answered", at: performance.now(), method, path });
    return sent;
  };

/**
 * A trace sink for a syncer in another process (the lab's, as the DaemonSet runs it): one JSON
 * line per event appended to `file`, `at` moved to the epoch clock (`performance.timeOrigin +
 * at`, sub-millisecond) so the reader can line it up with its own `performance.timeOrigin +
 * performance.now()`. Written through a stream: a stage costs the syncer no synchronous I/O.
 */
export function traceToFile(file: string): { trace: SyncTrace; close(): Promise<void> } {
  const out = createWriteStream(file, { flags: "a", mode: 0o600 });
  return {
    trace: (e) => out.write(`${JSON.stringify({ ...e, at: performance.timeOrigin + e.at })}\n`),
    close: () => new Promise((resolve) => out.end(resolve)),
  };
}
