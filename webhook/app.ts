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
    };
    if (verdict === "errored")
      opts.log.warn({ ...fields, reason: response.status?.message }, "admission review");
    else opts.log.info(fields, "admission review");
    res.status(200).json(review(response));
  };

  const stamp = (req: Timed, _res: Response, next: NextFunction): void => {
    req[STARTED] = process.hrtime.bigint();
    next();
  };

  const requireJson = (req: Request, res: Response, next: NextFunction): void => {
    if (req.is("application/json")) return next();
    const type = req.get("content-type") ?? "none";
    answer(req, res, req.path, errored("", 415, `content type must be application/json, got ${type}`));
  };

  const parseJson = express.json({
    limit: opts.maxBodyBytes ?? MAX_BODY_BYTES,
    strict: false,
    type: () => true,
  });

  const route = (path: string, judge: Judge) => (req: Request, res: Response) => {
    const parsed = parseReview(req.body);
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

  app.post("/validate", stamp, requireJson, parseJson, route("/validate", validate));
  app.post("/mutate", stamp, requireJson, parseJson, route("/mutate", mutate));

  app.use((req: Request, res: Response) => {
    const known = req.path === "/validate" || req.path === "/mutate";
    const code = known ? 405 : 404;
    const message = known ? `${req.method} not allowed; POST an AdmissionReview` : `no such path ${req.path}`;
    res.status(code).json(review(errored("", code, message)));
  });

  // Body-parser errors carry an HTTP status; anything else is our bug, answered as a 500 without its stack.
  app.use((err: unknown, req: Request, res: Response, _next: NextFunction) => {
    const e = err as { status?: number; type?: string; message?: string };
    if (res.headersSent || e.type === "request.aborted") return;
    const path = req.path === "/validate" || req.path === "/mutate" ? req.path : "other";
    const status = typeof e.status === "number" && e.status >= 400 && e.status < 500 ? e.status : 500;
    const message =
      e.type === "entity.too.large"
        ? `request body exceeds ${opts.maxBodyBytes ?? MAX_BODY_BYTES} bytes`
        : e.type === "entity.parse.failed"
          ? `malformed JSON: ${e.message ?? "parse error"}`
          : status === 500
            ? "internal error; see the webhook's log"
            : (e.message ?? "bad request");
    if (status === 500) opts.log.error({ err }, "unexpected error in the admission app");
    if (status === 413) res.set("connection", "close");
    answer(req, res, path, errored("", status, message));
  });
  return app;
}
