// GET of one object and of collections (one namespace or all), with label and field selectors,
// limit/continue paging, the collection's resourceVersion, and Table output for kubectl.
import { query, sendJson, type Ctx, type Server } from "./http.ts";
import { apiVersionOf } from "./resources.ts";
import { parseFieldSelector, parseLabelSelector } from "./selectors.ts";
import { badRequest, expired, notFound } from "./status.ts";
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
  if (token.rv < compacted) {
    throw expired(
      "The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter, or use the continue token in this response to retrieve the remainder of the results. Continuing with the provided token results in an inconsistent list - objects that were created, modified, or deleted between the time the first chunk was returned and now may show up in the list.",
    );
  }
  return token;
}

export function handleList(srv: Server, ctx: Ctx): void {
  const res = ctx.resource;
  const label = parseLabelSelector(query(ctx, "labelSelector"));
  const field = parseFieldSelector(query(ctx, "fieldSelector"), res.kind);
  let items = srv.store.list(res, ctx.namespace).filter((o) => label(o) && field(o));
  const rv = srv.store.revision;
  const cont = query(ctx, "continue");
  const key = (o: Obj) => `${o.metadata.namespace ?? ""}/${o.metadata.name ?? ""}`;
  let listRv = rv;
  if (cont !== null && cont !== "") {
    const token = decodeContinue(cont, srv.store.compactedRevision);
    items = items.filter((o) => key(o) > token.start);
    listRv = token.rv;
  }
  const meta: Record<string, unknown> = { resourceVersion: String(listRv) };
  const limitText = query(ctx, "limit");
  const limit = limitText === null ? 0 : Number(limitText);
  if (Number.isInteger(limit) && limit > 0 && items.length > limit) {
    const last = items[limit - 1];
    meta.continue = Buffer.from(
      JSON.stringify({ rv: listRv, start: last === undefined ? "" : key(last) }),
    ).toString("base64url");
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
