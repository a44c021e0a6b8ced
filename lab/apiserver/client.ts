/* eslint-disable @typescript-eslint/no-explicit-any -- tests index freely into API objects read from the wire */
// A raw HTTPS client for tests that need to see the wire itself (status codes, headers, bodies,
// streamed watch lines) rather than what a client library makes of it.
import https from "node:https";

export interface RawResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  /** the body parsed as JSON, or undefined */
  json: any;
}

export interface Target {
  url: string;
  token: string;
  ca: { cert: string };
}

export async function request(
  api: Target,
  method: string,
  path: string,
  opts: {
    body?: unknown;
    contentType?: string;
    token?: string | null;
    headers?: Record<string, string>;
  } = {},
): Promise<RawResponse> {
  const u = new URL(path, api.url);
  const body =
    opts.body === undefined
      ? undefined
      : typeof opts.body === "string" || Buffer.isBuffer(opts.body)
        ? opts.body
        : JSON.stringify(opts.body);
  const headers: Record<string, string> = { accept: "application/json", ...opts.headers };
  if (body !== undefined) {
    headers["content-type"] = opts.contentType ?? "application/json";
    // Node frames DELETE bodies only with an explicit length
    headers["content-length"] = String(Buffer.byteLength(body));
  }
  const token = opts.token === undefined ? api.token : opts.token;
  if (token !== null) headers.authorization = `Bearer ${token}`;
  return new Promise((resolve, reject) => {
    const req = https.request(u, { method, headers, ca: api.ca.cert, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("error", reject);
      res.on("end", () => {
        const text = Buffer.concat(chunks).toString("utf8");
        let json: unknown;
        try {
          json = JSON.parse(text);
        } catch {
          json = undefined;
        }
        resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json });
      });
    });
    req.on("error", reject);
    req.end(body);
  });
}

/** Opens a watch and yields parsed events as they arrive; `close()` ends it. */
export function openWatch(
  api: Target,
  path: string,
): { events: AsyncGenerator<any>; close: () => void; status: Promise<number> } {
  const u = new URL(path, api.url);
  const queue: unknown[] = [];
  let wake: (() => void) | undefined;
  let ended = false;
  let setStatus: (n: number) => void = () => undefined;
  const status = new Promise<number>((r) => (setStatus = r));
  const req = https.request(
    u,
    { method: "GET", headers: { authorization: `Bearer ${api.token}` }, ca: api.ca.cert, agent: false },
    (res) => {
      setStatus(res.statusCode ?? 0);
      let buf = "";
      res.setEncoding("utf8");
      res.on("data", (c: string) => {
        buf += c;
        let i: number;
        while ((i = buf.indexOf("\n")) !== -1) {
          const line = buf.slice(0, i);
          buf = buf.slice(i + 1);
          if (line.trim() !== "") queue.push(JSON.parse(line));
        }
        wake?.();
      });
      const finish = () => {
        ended = true;
        wake?.();
      };
      res.on("end", finish);
      res.on("close", finish);
      res.on("error", finish);
    },
  );
  req.on("error", () => {
    ended = true;
    setStatus(0);
    wake?.();
  });
  req.end();
  async function* events() {
    for (;;) {
      if (queue.length > 0) {
        yield queue.shift();
        continue;
      }
      if (ended) return;
      await new Promise<void>((r) => (wake = r));
      wake = undefined;
    }
  }
  return { events: events(), close: () => req.destroy(), status };
}

/** Reads events until `pred` matches one (returned) or the stream ends (undefined). */
export async function nextEvent(
  events: AsyncGenerator<any>,
  pred: (e: any) => boolean = () => true,
): Promise<any> {
  for (;;) {
    const r = await events.next();
    if (r.done === true) return undefined;
    if (pred(r.value)) return r.value;
  }
}
