// Reading an AdmissionReview's body: UTF-8 JSON up to a limit, nothing else. Replaces
// express.json (body-parser), whose layers (type-is, raw-body, iconv, async hooks, one router
// layer each) were a tenth of the webhook's CPU under load for work this small (bench/webhook.ts
// --profile). Every failure is a value with the HTTP status the review will carry.
import type { IncomingMessage } from "node:http";
import { createBrotliDecompress, createGunzip, createInflate } from "node:zlib";
import type { Readable, Transform } from "node:stream";

export type Body =
  | { ok: true; value: unknown }
  /** `close`: end the connection after the answer rather than drain what is left of the body. */
  | { ok: false; status: number; message: string; close?: boolean }
  /** The client went away: nobody to answer. */
  | { ok: false; status: 0; message: string };

const MEDIA = /^application\/json\s*(?:;|$)/i;
const CHARSET = /;\s*charset\s*=\s*"?([^";\s]*)"?/i;

/** `undefined` when the content type is acceptable, else the reason (415). */
export function contentTypeProblem(type: string | undefined): string | undefined {
  if (type === "application/json") return undefined; // what the API server sends
  if (type === undefined || !MEDIA.test(type))
    return `content type must be application/json, got ${type ?? "none"}`;
  const charset = CHARSET.exec(type)?.[1];
  if (charset !== undefined && !/^utf-?8$/i.test(charset))
    return `unsupported charset "${charset.toUpperCase()}"; JSON is UTF-8`;
  return undefined;
}

const decoders: Record<string, () => Transform> = {
  gzip: createGunzip,
  "x-gzip": createGunzip,
  deflate: createInflate,
  br: createBrotliDecompress,
};

/**
 * JSON values in a body, counted as its bytes arrive: `{`, `[`, `,` and `:` outside strings (a
 * member counts its key and its value). Parsing costs memory per value far more than per byte
 * (7 MiB of `{},` is 2.4 million objects, ~290 MiB), so a large body is also refused past a
 * number of values, before it is parsed.
 */
export class ValueCounter {
  count = 0;
  #inString = false;
  #escaped = false;

  add(chunk: Buffer): number {
    let count = this.count;
    let inString = this.#inString;
    let escaped = this.#escaped;
    for (let i = 0; i < chunk.length; i++) {
      const c = chunk[i]!;
      if (inString) {
        if (escaped) escaped = false;
        else if (c === 0x5c) escaped = true;
        else if (c === 0x22) inString = false;
      } else if (c === 0x22) inString = true;
      else if (c === 0x7b || c === 0x5b || c === 0x2c || c === 0x3a) count++;
    }
    this.#inString = inString;
    this.#escaped = escaped;
    return (this.count = count);
  }
}

export interface ReadLimits {
  /** Decoded bytes (a compressed bomb is cut short). */
  bytes: number;
  /** JSON values (ValueCounter); counted only when given. */
  values?: number;
}

/** A 413: the body is over `limit` bytes; the connection is not kept. */
const tooLarge = (limit: number) =>
  ({ ok: false, status: 413, message: `request body exceeds ${limit} bytes`, close: true }) as const;

/**
 * Reads and parses the body within `limits`, and calls `done` once with the outcome. A callback,
 * not a promise: with one, every review also paid for the promise, a microtask hop, and the
 * handler express attaches to an async route's promise.
 */
export function readJson(
  req: IncomingMessage,
  limits: ReadLimits | number,
  done: (body: Body) => void,
): void {
  const { bytes: limit, values: maxValues } = typeof limits === "number" ? { bytes: limits } : limits;
  const declared = Number(req.headers["content-length"] ?? NaN);
  const encoding = (req.headers["content-encoding"] ?? "identity").toLowerCase();
  const decoder = encoding === "identity" ? undefined : decoders[encoding];
  if (encoding !== "identity" && decoder === undefined)
    return done({ ok: false, status: 415, message: `unsupported content encoding "${encoding}"` });
  if (decoder === undefined && declared > limit) {
    req.resume();
    return done(tooLarge(limit));
  }
  const decoding = decoder?.();
  const source: Readable = decoding === undefined ? req : req.pipe(decoding);
  const chunks: Buffer[] = [];
  let size = 0;
  let settled = false;
  const finish = (b: Body) => {
    if (settled) return;
    settled = true;
    done(b);
  };
  const counter = maxValues === undefined ? undefined : new ValueCounter();
  source.on("data", (chunk: Buffer) => {
    size += chunk.length;
    const over =
      size > limit
        ? tooLarge(limit)
        : counter !== undefined && counter.add(chunk) > maxValues!
          ? ({
              ok: false,
              status: 413,
              message: `request body holds more than ${maxValues} JSON values`,
            } as const)
          : undefined;
    if (over !== undefined) {
      source.removeAllListeners("data");
      chunks.length = 0;
      // What is left is read undecoded and thrown away once answered (webhook/drain.ts).
      if (decoding !== undefined) {
        req.unpipe(decoding);
        decoding.destroy();
      }
      finish(over);
      return;
    }
    chunks.push(chunk);
  });
  source.on("error", (err) =>
    finish({ ok: false, status: 400, message: `the body could not be decoded: ${err.message}` }),
  );
  req.on("aborted", () => finish({ ok: false, status: 0, message: "request aborted" }));
  source.on("end", () => {
    if (decoder === undefined && Number.isFinite(declared) && declared !== size)
      return finish({ ok: false, status: 400, message: "request size did not match content length" });
    const text = (chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks)).toString("utf8");
    if (text.trim() === "") return finish({ ok: true, value: undefined });
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (err) {
      return finish({ ok: false, status: 400, message: `malformed JSON: ${(err as Error).message}` });
    }
    // Outside the try: a throw from `done` is not malformed JSON.
    finish({ ok: true, value });
  });
}
