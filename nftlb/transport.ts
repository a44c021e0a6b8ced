// The HTTP leg, shaped by how nftlb 1.0.7's hand-written server parses requests:
// - header names are matched case-sensitively: `Key: ` and `Content-Length: ` exactly. node:http
//   keeps the case we give and, with the length set, sends a string body in one `end()`, never
//   chunked (checked on the wire in transport.test.ts). (It was axios over node:http; its layers
//   cost ~0.6 ms of CPU per request, a tenth of adding one Service at 1,000 farms beside nftlb's
//   own work: bench/scale.ts --profile.)
// - nftlb closes the socket after every answer without `Connection: close`: a keep-alive agent
//   would reuse a dead socket, so every request gets its own connection.
// - the daemon is single-threaded with a listen backlog of 2: requests go one at a time.
import http from "node:http";

export interface Answer {
  status: number;
  body: string;
}

export type SendFailure = "network" | "timeout" | "too-large";
export type Sent = { ok: true; answer: Answer } | { ok: false; reason: SendFailure; message: string };

export interface TransportOptions {
  url: string;
  key: string;
  timeoutMs: number;
  /** Larger answers are refused (GET /farms with 1,000 farms is about 7 MB). */
  maxAnswerBytes?: number;
  /**
   * false: requests are not queued behind each other. Only for a health probe: it must time out
   * on its own while a write is stuck, not wait behind it (one probe at a time is its caller's
   * job; nftlb's listen backlog holds it while a write is served).
   */
  serial?: boolean;
}

/** `timeoutMs`: this request's own deadline, instead of the transport's. */
export type Send = (
  method: "GET" | "POST" | "DELETE",
  path: string,
  body?: string,
  timeoutMs?: number,
) => Promise<Sent>;

/** Removes the key from any text that leaves the client, whatever produced it. */
export const redact = (text: string, key: string): string =>
  key === "" ? text : text.split(key).join("<key>");

export const createTransport = (options: TransportOptions): Send => {
  // keepAlive false with unlimited sockets is what makes node send `Connection: close`; one at a
  // time is enforced by the queue below, not by the agent (a finite maxSockets drops the header).
  const agent = new http.Agent({ keepAlive: false });
  const base = options.url.replace(/\/+$/, "");
  const maxBytes = options.maxAnswerBytes ?? 64 * 1024 * 1024;
  let tail: Promise<unknown> = Promise.resolve();

  const once = (method: string, path: string, body?: string, timeoutMs = options.timeoutMs): Promise<Sent> =>
    new Promise((resolve) => {
      let settled = false;
      const settle = (sent: Sent) => {
        if (settled) return;
        settled = true;
        clearTimeout(deadline);
        resolve(sent);
      };
      const fail = (reason: SendFailure, message: string) => {
        settle({ ok: false, reason, message: redact(message, options.key) });
        req.destroy();
      };
      const req = http.request(`${base}${path}`, {
        method,
        agent,
        headers: {
          Key: options.key,
          ...(body !== undefined
            ? { "Content-Type": "application/json", "Content-Length": String(Buffer.byteLength(body)) }
            : {}),
        },
      });
      // The whole exchange is bounded, so a server that dribbles bytes cannot hold the client forever.
      const deadline = setTimeout(
        () => fail("timeout", `no complete answer within ${timeoutMs} ms`),
        timeoutMs,
      );
      const failed = (err: NodeJS.ErrnoException) =>
        fail("network", [err.code, err.message].filter(Boolean).join(": "));
      req.on("error", failed);
      req.on("response", (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on("data", (chunk: Buffer) => {
          size += chunk.length;
          if (size > maxBytes) fail("too-large", `answer over maxContentLength (${maxBytes} bytes)`);
          else chunks.push(chunk);
        });
        res.on("error", failed);
        res.on("end", () =>
          settle({
            ok: true,
            answer: { status: res.statusCode ?? 0, body: Buffer.concat(chunks, size).toString("utf8") },
          }),
        );
        res.on("close", () => {
          if (!res.complete) fail("network", "aborted: the connection closed before the answer was complete");
        });
      });
      req.end(body);
    });

  if (options.serial === false) return once;
  return (method, path, body, timeoutMs) => {
    const run = tail.then(() => once(method, path, body, timeoutMs));
    tail = run.catch(() => undefined);
    return run;
  };
};
