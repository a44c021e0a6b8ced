// Which path a request names, read from its URL: the admission route it goes to, the metrics'
// label it is counted under, and the API server's own deadline for it.
import type { Request } from "express";

/** The apiserver's `?timeout=5s` (whole seconds: it rounds up), in ms. */
export function apiserverTimeoutMs(url: string): number | undefined {
  const m = /[?&]timeout=(\d{1,5})s(?:&|$)/.exec(url);
  return m ? Number(m[1]) * 1000 : undefined;
}

/** The metrics' path label: one of three values, whatever the request says. */
export const pathLabel = (req: Request): "/validate" | "/mutate" | "other" =>
  req.path === "/validate" ? "/validate" : req.path === "/mutate" ? "/mutate" : "other";

/**
 * The admission path a request's path names, matched as express matches a route's path:
 * case-insensitive, with or without a trailing slash, never percent-decoded.
 */
export function admissionPath(path: string): "/validate" | "/mutate" | undefined {
  const p = path.length > 1 && path.endsWith("/") ? path.slice(0, -1) : path;
  const lower = p.length === 9 || p.length === 7 ? p.toLowerCase() : "";
  return lower === "/validate" || lower === "/mutate" ? lower : undefined;
}
