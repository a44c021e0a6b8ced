// The HTTP leg, shaped by how nftlb 1.0.7's hand-written server parses requests:
// - header names are matched case-sensitively: `Key: ` and `Content-Length: ` exactly. Axios with
//   its node http adapter keeps the case we give and sends the length of a string body in one
//   `end()`, never chunked (checked on the wire in transport.test.ts).
// - nftlb closes the socket after every answer without `Connection: close`: a keep-alive agent
//   would reuse a dead socket, so every request gets its own connection.
// - the daemon is single-threaded with a listen backlog of 2: requests go one at a time.
import http from "node:http";
import axios, { type AxiosInstance } from "axios";

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
  /**
   * Larger answers are refused (default 256 MiB). nftlb lists a farm of 10 backends in ~7.2 KB
   * (every field, 8-space indent), so GET /farms of 10,000 such farms is ~72 MB: the default
   * reads ~35,000, beyond the syncer's sizing (docs/operators.md).
   */
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

const describe = (err: unknown, timeoutMs: number): { reason: SendFailure; message: string } => {
  const timeout = { reason: "timeout", message: `no complete answer within ${timeoutMs} ms` } as const;
  if (axios.isCancel(err)) return timeout;
  if (axios.isAxiosError(err)) {
    if (err.code === "ECONNABORTED" || err.code === "ETIMEDOUT") return timeout;
    const message = [err.code, err.message].filter(Boolean).join(": ");
    return { reason: /maxContentLength/.test(err.message) ? "too-large" : "network", message };
  }
  return { reason: "network", message: err instanceof Error ? err.message : String(err) };
};

export const createTransport = (options: TransportOptions): Send => {
  // keepAlive false with unlimited sockets is what makes node send `Connection: close`; one at a
  // time is enforced by the queue below, not by the agent (a finite maxSockets drops the header).
  const agent = new http.Agent({ keepAlive: false });
  const client: AxiosInstance = axios.create({
    baseURL: options.url.replace(/\/+$/, ""),
    httpAgent: agent,
    proxy: false,
    maxRedirects: 0,
    decompress: false,
    timeout: options.timeoutMs,
    maxContentLength: options.maxAnswerBytes ?? 256 * 1024 * 1024,
    responseType: "text",
    // Bodies are serialized by us (key order matters) and answers parsed by us (zod).
    transformRequest: [(data: unknown) => data],
    transformResponse: [(data: unknown) => data],
    validateStatus: () => true,
  });
  let tail: Promise<unknown> = Promise.resolve();

  const once = async (
    method: string,
    path: string,
    body?: string,
    timeoutMs = options.timeoutMs,
  ): Promise<Sent> => {
    try {
      const res = await client.request<string>({
        method,
        url: path,
        data: body,
        timeout: timeoutMs,
        // The axios timeout is per socket inactivity; the signal bounds the whole exchange,
        // so a server that dribbles bytes cannot hold the client forever.
        signal: AbortSignal.timeout(timeoutMs),
        headers: {
          Key: options.key,
          ...(body !== undefined
            ? { "Content-Type": "application/json", "Content-Length": String(Buffer.byteLength(body)) }
            : {}),
        },
      });
      return { ok: true, answer: { status: res.status, body: typeof res.data === "string" ? res.data : "" } };
    } catch (err) {
      const failure = describe(err, timeoutMs);
      return { ok: false, reason: failure.reason, message: redact(failure.message, options.key) };
    }
  };

  if (options.serial === false) return once;
  return (method, path, body, timeoutMs) => {
    const run = tail.then(() => once(method, path, body, timeoutMs));
    tail = run.catch(() => undefined);
    return run;
  };
};
