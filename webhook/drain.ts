// After an answer given before the body has all arrived (413, 415, 404, …): the rest of the body
// is read and thrown away before the connection may close. A server that closes a socket with
// unread bytes in it makes the kernel send a reset, and a client still writing its body then gets
// EPIPE or ECONNRESET, often before it has read the answer waiting for it (Apache's "lingering
// close" is the same cure). Bounded: bytes thrown away cost no memory, and past DRAIN_BYTES the
// connection is cut; the request's own deadline (webhook/app.ts) bounds the time.
import type { IncomingMessage, ServerResponse } from "node:http";

/** Enough for the rest of any body within the 7 MiB limit; a larger one is cut after this much. */
export const DRAIN_BYTES = 8 * 1024 * 1024;

/**
 * Ends `res`, whose answer has been written whole, once `req`'s body has been read to its end, or
 * cuts the connection once `maxBytes` more have come without the end.
 */
export function endAfterBody(req: IncomingMessage, res: ServerResponse, maxBytes = DRAIN_BYTES): void {
  if (req.complete) return void res.end();
  let drained = 0;
  const onData = (chunk: Buffer) => {
    drained += chunk.length;
    if (drained <= maxBytes) return;
    stop();
    req.socket.destroy();
  };
  const onEnd = () => {
    stop();
    res.end();
  };
  const stop = () => {
    req.off("data", onData);
    req.off("end", onEnd);
  };
  req.on("data", onData);
  req.once("end", onEnd);
  req.resume();
}
