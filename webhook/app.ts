// The express app: POST /validate and POST /mutate. A thin adapter around the pure functions:
// every request gets an AdmissionReview back with HTTP 200 (the status code is inside, SPEC §5),
// whatever arrives — wrong content type, broken JSON, oversized bodies, garbage. On /mutate that
// answer admits, unpatched, with the reason as a warning (review.ts unmutated): a refusal there
// would bypass its failurePolicy Ignore. Only /validate refuses what it cannot judge.
import type { IncomingMessage, ServerResponse } from "node:http";
import express, { type NextFunction } from "express";
import type { Logger } from "pino";
import { mutate, type MutateOptions } from "./mutate.ts";
import {
  errored,
  parseReview,
  reviewJson,
  verdictOf,
  type AdmissionRequest,
  type AdmissionResponse,
  VERDICTS,
  type Verdict,
  unmutated,
} from "./review.ts";
import { validate, type ValidateOptions } from "./validate.ts";
import { contentTypeProblem, readJson, type Body } from "./body.ts";
import { BodyGate, type Release } from "./body-gate.ts";
import { endAfterBody } from "./drain.ts";
import { Deadlines } from "./deadlines.ts";
import { admissionPath, apiserverTimeoutMs, pathLabel } from "./paths.ts";
import type { WebhookMetrics } from "./metrics.ts";

/** An AdmissionReview carries object and oldObject, each up to the apiserver's 3 MiB (controller-runtime's figure). */
export const MAX_BODY_BYTES = 7 * 1024 * 1024;
/** Bodies up to this size are read without waiting (a Service's review is a few KiB). */
export const SMALL_BODY_BYTES = 64 * 1024;
/**
 * From the request's first byte to the answer. kube-apiserver gives up after the webhook's
 * timeoutSeconds (at most 30 s) and says so in `?timeout=`, which is honoured when shorter.
 */
export const REQUEST_TIMEOUT_MS = 30_000;
/**
 * A large body's JSON values (webhook/body.ts). A Service's review, object and oldObject with
 * their managedFields, holds a few thousand even with a hundred ports; 100,000 parse into ~10 MiB.
 */
export const MAX_JSON_VALUES = 100_000;

export interface AppOptions {
  log: Logger;
  metrics: WebhookMetrics;
  /** Read on every request: the defaults file, re-read when it changes, takes effect at once. */
  options: () => ValidateOptions & MutateOptions;
  maxBodyBytes?: number;
  requestTimeoutMs?: number;
  /** Large bodies (over SMALL_BODY_BYTES, or of unknown size) read and judged at once (default 1). */
  largeBodies?: number;
  /** Requests waiting for the large-body budget; one more is answered 429 at once (default 8). */
  maxWaiting?: number;
  /** JSON values in a large body (webhook/body.ts ValueCounter); more is answered 413. */
  maxJsonValues?: number;
}

/** Attacker-sized strings (uid, names, kinds, messages) are cut before they reach a log line. */
const LOGGED_MAX = 256;
const clip = (s: string | undefined): string | undefined =>
  s === undefined || s.length <= LOGGED_MAX ? s : `${s.slice(0, LOGGED_MAX)}… (${s.length} chars)`;

const ANSWERED = Symbol("answered");

type Judge = (request: AdmissionRequest, opts: ValidateOptions & MutateOptions) => AdmissionResponse;

const STARTED = Symbol("started");
const PATH = Symbol("path");
const WAITING = Symbol("waiting");
type Timed = IncomingMessage & { [STARTED]?: number };
/** A response and what its deadline needs: the path it answers and, for a large body, how to stop its wait. */
type Answering = ServerResponse<Timed> & {
  [ANSWERED]?: boolean;
  [PATH]?: PathLabel;
  [WAITING]?: AbortController;
};

type PathLabel = ReturnType<typeof pathLabel>;
/** The metrics' labels, one object per path and verdict made once, not one per review. */
const LABELS = Object.fromEntries(
  (["/validate", "/mutate", "other"] as const).map((path) => [
    path,
    Object.fromEntries(VERDICTS.map((verdict) => [verdict, { path, verdict }])),
  ]),
) as Record<PathLabel, Record<Verdict, { path: PathLabel; verdict: Verdict }>>;

export function createApp(opts: AppOptions): express.Express {
  const app = express();
  app.disable("x-powered-by");
  app.disable("etag");
  app.set("json spaces", 0);
  const maxBody = opts.maxBodyBytes ?? MAX_BODY_BYTES;
  const timeoutMs = opts.requestTimeoutMs ?? REQUEST_TIMEOUT_MS;
  const maxValues = opts.maxJsonValues ?? MAX_JSON_VALUES;
  // At the deadline: answered (408) and the connection closed, however slowly the body comes.
  const deadlines = new Deadlines<Answering>((res) => {
    res[WAITING]?.abort();
    expire(res.req, res, res[PATH]!);
  });
  const gate = new BodyGate({
    slots: opts.largeBodies ?? 1,
    maxWaiting: opts.maxWaiting ?? 8,
    onChange: (reading, waiting) => {
      opts.metrics.largeBodies.set({ state: "reading" }, reading);
      opts.metrics.largeBodies.set({ state: "waiting" }, waiting);
    },
  });

  const answer = (
    req: Timed,
    res: Answering,
    path: PathLabel,
    response: AdmissionResponse,
    request?: AdmissionRequest,
    httpStatus = 200,
  ) => {
    // A request answered at its deadline may still finish reading or judging afterwards.
    if (res[ANSWERED]) return;
    res[ANSWERED] = true;
    const verdict = verdictOf(response);
    const now = performance.now();
    const seconds = (now - (req[STARTED] ?? now)) / 1000;
    const labels = LABELS[path][verdict];
    opts.metrics.requests.inc(labels);
    opts.metrics.duration.observe(labels, seconds);
    // A line for every review was a quarter of the webhook's CPU under load (bench/webhook.ts
    // --profile): admitted reviews are logged at debug (the metrics count them, the API server's
    // audit log records them), refusals at info, errors at warn.
    const level = verdict === "errored" ? "warn" : verdict === "denied" ? "info" : "debug";
    if (opts.log.isLevelEnabled(level)) {
      const fields = {
        uid: clip(response.uid),
        namespace: clip(request?.namespace),
        name: clip(request?.name),
        operation: clip(request?.operation),
        kind: clip(request?.kind?.kind),
        dryRun: request?.dryRun,
        path,
        verdict,
        code: response.status?.code,
        ms: Math.round(seconds * 1e6) / 1e3,
        ...(verdict === "errored" ? { reason: clip(response.status?.message) } : {}),
      };
      opts.log[level](fields, "admission review");
    }
    // Written directly rather than through express's res.json/res.send, whose content-type,
    // charset and freshness handling is work no AdmissionReview needs.
    const text = reviewJson(
      path === "/mutate" && httpStatus === 200 && !response.allowed ? unmutated(response) : response,
    );
    res.statusCode = httpStatus;
    res.setHeader("content-type", "application/json; charset=utf-8");
    // Past the deadline (408) or when busy (429) the connection closes at once: reading the rest
    // is what those answers refuse to do. Any other early answer waits for the body's end, so
    // the client is not reset while still sending it (webhook/drain.ts).
    if (req.complete || httpStatus === 408 || httpStatus === 429) {
      deadlines.cancel(res);
      // end() with the whole answer writes its Content-Length itself.
      return void res.end(text);
    }
    // The deadline still bounds the drain: at it, the connection is cut.
    res.once("close", () => deadlines.cancel(res));
    res.setHeader("content-length", Buffer.byteLength(text));
    res.write(text);
    endAfterBody(req, res);
  };

  const expire = (req: Timed, res: Answering, path: PathLabel) => {
    if (res[ANSWERED] || res.headersSent) return void req.socket.destroy();
    opts.metrics.overload.inc({ reason: "timeout" });
    res.setHeader("connection", "close");
    answer(req, res, path, errored("", 408, `request not complete within ${timeoutMs} ms`), undefined, 408);
  };

  // One handler per path, not a chain of middleware: every router layer costs a few µs per review.
  // Not async: the continuation is a callback (webhook/body.ts readJson), and what it throws goes
  // to express's error handler (`next`) as a rejected promise's would.
  const route = (path: PathLabel, judge: Judge) => (req: Timed, res: Answering, next: NextFunction) => {
    const started = (req[STARTED] = performance.now());
    const typeProblem = contentTypeProblem(req.headers["content-type"]);
    if (typeProblem !== undefined) {
      req.resume();
      return answer(req, res, path, errored("", 415, typeProblem));
    }
    const ms = Math.min(timeoutMs, apiserverTimeoutMs(req.url ?? "") ?? timeoutMs);
    const encoded = req.headers["content-encoding"] !== undefined;
    const declared = Number(req.headers["content-length"] ?? NaN);
    const bytes = encoded || !Number.isFinite(declared) ? maxBody : declared;
    res[PATH] = path;
    deadlines.add(res, started + ms);
    const judged = (body: Body, release?: Release) => {
      try {
        judgeBody(req, res, path, judge, body, release);
      } catch (err) {
        next(err);
      }
    };
    // Only a large body can wait, so only it pays for a way to stop waiting.
    if (bytes <= SMALL_BODY_BYTES) return readJson(req, maxBody, judged);
    const waiting = (res[WAITING] = new AbortController());
    gate
      .enter(waiting.signal)
      .then((entered) => {
        if (entered === "busy") {
          // Overload is a failure of the webhook, not a verdict: a non-200 lets each configuration's
          // failurePolicy decide (validate: Fail, mutate: Ignore), as for a webhook that is down.
          if (res[ANSWERED]) return;
          opts.metrics.overload.inc({ reason: "busy" });
          res.setHeader("connection", "close");
          res.setHeader("retry-after", "1");
          const busy = errored("", 429, "too many large admission reviews at once; retry");
          return answer(req, res, path, busy, undefined, 429);
        }
        res.once("close", entered);
        readJson(req, { bytes: maxBody, values: maxValues }, (body) => judged(body, entered));
      })
      .catch(next);
  };

  const judgeBody = (
    req: Timed,
    res: Answering,
    path: PathLabel,
    judge: Judge,
    body: Body,
    release?: Release,
  ) => {
    if (res[ANSWERED]) return;
    if (!body.ok) {
      if (body.status === 0) return void deadlines.cancel(res); // the client went away
      release?.(); // what is left of the body is thrown away: it costs no memory
      // Past the size limit the connection is not kept for another request; the rest of the
      // body is still read (up to a bound) before it closes, so the client sees the answer.
      if ("close" in body && body.close) res.setHeader("connection", "close");
      return answer(req, res, path, errored("", body.status, body.message));
    }
    const parsed = parseReview(body.value);
    if (!parsed.ok) return answer(req, res, path, errored(parsed.uid, 400, parsed.error));
    let response: AdmissionResponse;
    try {
      response = judge(parsed.request, opts.options());
    } catch (err) {
      opts.log.error({ err, uid: parsed.request.uid, path }, "admission review failed");
      response = errored(
        parsed.request.uid,
        500,
        "internal error while judging the request; see the webhook's log",
      );
    }
    answer(req, res, path, response, parsed.request);
  };

  const routes = { "/validate": route("/validate", validate), "/mutate": route("/mutate", mutate) };
  // Both admission paths in one layer, the first: express tries a request against each layer in
  // turn, and a route is two (its path, then its method).
  app.use((req: express.Request, res: express.Response, next: NextFunction) => {
    // req.url before its query names the admission paths as express's req.path does (a string cut
    // rather than express's URL parse per review); anything else is left to req.path.
    const url = req.url;
    const query = url.indexOf("?");
    const path =
      req.method !== "POST"
        ? undefined
        : (admissionPath(query < 0 ? url : url.slice(0, query)) ?? admissionPath(req.path));
    if (path === undefined) return next();
    return routes[path](req, res, next);
  });

  // Counted like the reviews, under a fixed label: a path label taken from the request would let
  // any client create a new series per request.
  app.use((req: express.Request, res: express.Response) => {
    const label = pathLabel(req);
    const code = label === "other" ? 404 : 405;
    const message =
      code === 405 ? `${req.method} not allowed; POST an AdmissionReview` : `no such path ${clip(req.path)}`;
    answer(req, res, label, errored("", code, message), undefined, code);
  });

  // Errors express raises carry an HTTP status (e.g. a URL it cannot decode); anything else is
  // our bug, answered as a 500 without its stack.
  app.use((err: unknown, req: express.Request, res: express.Response, _next: NextFunction) => {
    const e = err as { status?: number; message?: string };
    if (res.headersSent) return;
    const path = pathLabel(req);
    const status = typeof e.status === "number" && e.status >= 400 && e.status < 500 ? e.status : 500;
    const message = status === 500 ? "internal error; see the webhook's log" : (e.message ?? "bad request");
    if (status === 500) opts.log.error({ err }, "unexpected error in the admission app");
    answer(req, res, path, errored("", status, message));
  });

  return app;
}
