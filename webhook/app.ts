// The express app: POST /validate and POST /mutate. A thin adapter around the pure functions:
// every request gets an AdmissionReview back with HTTP 200 (the status code is inside, SPEC §5),
// whatever arrives — wrong content type, broken JSON, oversized bodies, garbage.
import express, { type NextFunction, type Request, type Response } from "express";
import type { Logger } from "pino";
import { mutate, type MutateOptions } from "./mutate.ts";
import {
  errored,
  parseReview,
  review,
  verdictOf,
  type AdmissionRequest,
  type AdmissionResponse,
} from "./review.ts";
import { validate, type ValidateOptions } from "./validate.ts";
import { contentTypeProblem, readJson } from "./body.ts";
import type { WebhookMetrics } from "./metrics.ts";

/** An AdmissionReview carries object and oldObject, each up to the apiserver's 3 MiB (controller-runtime's figure). */
export const MAX_BODY_BYTES = 7 * 1024 * 1024;

export interface AppOptions {
  log: Logger;
  metrics: WebhookMetrics;
  /** Read on every request, so a reloaded defaults file needs no new app. */
  options: () => ValidateOptions & MutateOptions;
  maxBodyBytes?: number;
}

type Judge = (request: AdmissionRequest, opts: ValidateOptions & MutateOptions) => AdmissionResponse;

const STARTED = Symbol("started");
type Timed = Request & { [STARTED]?: bigint };

export function createApp(opts: AppOptions): express.Express {
  const app = express();
  app.disable("x-powered-by");
  app.disable("etag");
  app.set("json spaces", 0);

  const answer = (
    req: Timed,
    res: Response,
    path: string,
    response: AdmissionResponse,
    request?: AdmissionRequest,
  ) => {
    const verdict = verdictOf(response);
    const seconds = Number(process.hrtime.bigint() - (req[STARTED] ?? process.hrtime.bigint())) / 1e9;
    opts.metrics.requests.inc({ path, verdict });
    opts.metrics.duration.observe({ path, verdict }, seconds);
    // A line for every review was a quarter of the webhook's CPU under load (bench/webhook.ts
    // --profile): admitted reviews are logged at debug (the metrics count them, the API server's
    // audit log records them), refusals at info, errors at warn.
    const level = verdict === "errored" ? "warn" : verdict === "denied" ? "info" : "debug";
    if (opts.log.isLevelEnabled(level)) {
      const fields = {
        uid: response.uid,
        namespace: request?.namespace,
        name: request?.name,
        operation: request?.operation,
        kind: request?.kind?.kind,
        dryRun: request?.dryRun,
        path,
        verdict,
        code: response.status?.code,
        ms: Math.round(seconds * 1e6) / 1e3,
        ...(verdict === "errored" ? { reason: response.status?.message } : {}),
      };
      opts.log[level](fields, "admission review");
    }
    res.status(200).json(review(response));
  };

  // One handler per path, not a chain of middleware: every router layer costs a few µs per review.
  const route = (path: string, judge: Judge) => async (req: Timed, res: Response) => {
    req[STARTED] = process.hrtime.bigint();
    const typeProblem = contentTypeProblem(req.get("content-type"));
    if (typeProblem !== undefined) {
      req.resume();
      return answer(req, res, path, errored("", 415, typeProblem));
    }
    const body = await readJson(req, opts.maxBodyBytes ?? MAX_BODY_BYTES);
    if (!body.ok) {
      if (body.status === 0) return; // the client went away
      if (body.status === 413) res.set("connection", "close");
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

  app.post("/validate", route("/validate", validate));
  app.post("/mutate", route("/mutate", mutate));

  app.use((req: Request, res: Response) => {
    const known = req.path === "/validate" || req.path === "/mutate";
    const code = known ? 405 : 404;
    const message = known ? `${req.method} not allowed; POST an AdmissionReview` : `no such path ${req.path}`;
    res.status(code).json(review(errored("", code, message)));
  });

  // Errors express raises carry an HTTP status (e.g. a URL it cannot decode); anything else is
  // our bug, answered as a 500 without its stack.
  app.use((err: unknown, req: Request, res: Response, _next: NextFunction) => {
    const e = err as { status?: number; message?: string };
    if (res.headersSent) return;
    const path = req.path === "/validate" || req.path === "/mutate" ? req.path : "other";
    const status = typeof e.status === "number" && e.status >= 400 && e.status < 500 ? e.status : 500;
    const message = status === 500 ? "internal error; see the webhook's log" : (e.message ?? "bad request");
    if (status === 500) opts.log.error({ err }, "unexpected error in the admission app");
    answer(req, res, path, errored("", status, message));
  });
  return app;
}
