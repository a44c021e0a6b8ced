// GET of one object and of collections (one namespace or all), with label and field selectors,
// limit/continue paging, the collection's resourceVersion, and Table output for kubectl.
import { query, sendJson, type Ctx, type Server } from "./http.ts";
import { apiVersionOf } from "./resources.ts";
import { parseFieldSelector, parseLabelSelector } from "./selectors.ts";
import {
  badRequest,
  expired,
  invalidOptions,
  notFound,
  tooLargeResourceVersion,
  type FieldError,
} from "./status.ts";
import { forbiddenField, notSupported } from "./validation.ts";
import type { Obj } from "./store.ts";
import { toTable, wantsTable } from "./table.ts";

export function withType(ctx: Ctx, o: Obj): Obj {
  return { kind: ctx.resource.kind, apiVersion: apiVersionOf(ctx.resource), ...o };
}

export function handleGet(srv: Server, ctx: Ctx): void {
  const o = srv.store.get(ctx.resource, ctx.namespace, ctx.name ?? "");
  if (o === undefined) throw notFound(ctx.resource, ctx.name ?? "");
  const obj = withType(ctx, o);
  if (wantsTable(ctx.req))
    return sendJson(
      ctx,
      200,
      toTable(
        ctx.resource,
        [obj],
        { resourceVersion: o.metadata.resourceVersion },
        query(ctx, "includeObject"),
      ),
    );
  sendJson(ctx, 200, obj);
}

const continueTooOld = () =>
  expired(
    "The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter, or use the continue token in this response to retrieve the remainder of the results. Continuing with the provided token results in an inconsistent list - objects that were created, modified, or deleted between the time the first chunk was returned and now may show up in the list.",
  );

interface ContinueToken {
  rv: number;
  start: string;
}

function decodeContinue(text: string, compacted: number): ContinueToken {
  let token: ContinueToken;
  try {
    token = JSON.parse(Buffer.from(text, "base64url").toString("utf8")) as ContinueToken;
    if (typeof token.rv !== "number" || typeof token.start !== "string") throw new Error("bad");
  } catch {
    throw badRequest(
      "continue key is not valid: incorrect encoded start resourceVersion (version meta.k8s.io/v1)",
    );
  }
  if (token.rv < compacted) throw continueTooOld();
  return token;
}

const LIST_TOO_OLD = "The resourceVersion for the provided list is too old.";
/** How long the watch cache waits for a resourceVersion it has not seen yet (blockTimeout). */
const TOO_LARGE_WAIT_MS = 3000;

function listOptionErrors(rv: string, match: string, cont: string): FieldError[] {
  const out: FieldError[] = [];
  if (match === "") return out;
  const f = "resourceVersionMatch";
  if (rv === "")
    out.push(forbiddenField(f, "resourceVersionMatch is forbidden unless resourceVersion is provided"));
  if (cont !== "") out.push(forbiddenField(f, "resourceVersionMatch is forbidden when continue is provided"));
  if (match !== "Exact" && match !== "NotOlderThan")
    out.push(notSupported(f, match, ["Exact", "NotOlderThan", ""]));
  if (match === "Exact" && rv === "0")
    out.push(forbiddenField(f, 'resourceVersionMatch "exact" is forbidden for resourceVersion "0"'));
  return out;
}

/** Waits (as the watch cache does) for the store to reach `rv`; false when it did not in time. */
function reached(srv: Server, rv: number): Promise<boolean> {
  if (srv.store.revision >= rv) return Promise.resolve(true);
  return new Promise((resolve) => {
    const done = (ok: boolean) => {
      clearTimeout(timer);
      unsubscribe();
      resolve(ok);
    };
    const timer = setTimeout(() => done(false), TOO_LARGE_WAIT_MS);
    const unsubscribe = srv.store.subscribe(() => {
      if (srv.store.revision >= rv) done(true);
    });
  });
}

export async function handleList(srv: Server, ctx: Ctx): Promise<void> {
  const res = ctx.resource;
  const label = parseLabelSelector(query(ctx, "labelSelector"));
  const field = parseFieldSelector(query(ctx, "fieldSelector"), res.kind);
  const rvText = query(ctx, "resourceVersion") ?? "";
  const match = query(ctx, "resourceVersionMatch") ?? "";
  const cont = query(ctx, "continue") ?? "";
  const errors = listOptionErrors(rvText, match, cont);
  if (errors.length > 0) throw invalidOptions("ListOptions", errors);
  if (cont !== "" && rvText !== "" && rvText !== "0")
    throw badRequest("specifying resource version is not allowed when using continue");
  // the revision the list is a snapshot of; undefined: the latest
  let at: number | undefined;
  let start = "";
  if (cont !== "") {
    const token = decodeContinue(cont, srv.store.compactedRevision);
    [at, start] = [token.rv, token.start];
  } else if (rvText !== "" && rvText !== "0") {
    const n = Number(rvText);
    if (!/^\d+$/.test(rvText)) throw badRequest(`invalid resource version: ${JSON.stringify(rvText)}`);
    if (!(await reached(srv, n))) throw tooLargeResourceVersion(n, srv.store.revision);
    if (match === "Exact") at = n;
  }
  const rv = at ?? srv.store.revision;
  const all =
    at === undefined ? srv.store.list(res, ctx.namespace) : srv.store.listAt(res, ctx.namespace, at);
  if (all === undefined) throw cont !== "" ? continueTooOld() : expired(LIST_TOO_OLD);
  const key = (o: Obj) => `${o.metadata.namespace ?? ""}/${o.metadata.name ?? ""}`;
  let items = all.filter((o) => label(o) && field(o) && key(o) > start);
  const meta: Record<string, unknown> = { resourceVersion: String(rv) };
  const limitText = query(ctx, "limit");
  const limit = limitText === null ? 0 : Number(limitText);
  if (Number.isInteger(limit) && limit > 0 && items.length > limit) {
    const last = items[limit - 1];
    meta.continue = Buffer.from(JSON.stringify({ rv, start: last === undefined ? "" : key(last) })).toString(
      "base64url",
    );
    meta.remainingItemCount = items.length - limit;
    items = items.slice(0, limit);
  }
  if (wantsTable(ctx.req)) {
    return sendJson(
      ctx,
      200,
      toTable(
        res,
        items.map((o) => withType(ctx, o)),
        meta,
        query(ctx, "includeObject"),
      ),
    );
  }
  sendJson(ctx, 200, { kind: `${res.kind}List`, apiVersion: apiVersionOf(res), metadata: meta, items });
}
