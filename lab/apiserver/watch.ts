// ?watch=true: a chunked stream of newline-delimited {"type","object"} events. Replays from the
// requested resourceVersion (410 Expired ERROR event when it is older than the window), starts with
// synthetic ADDED events for resourceVersion "" / "0" (and sendInitialEvents), turns objects that
// enter or leave the selector into ADDED/DELETED as the watch cache does, sends BOOKMARKs when
// allowed, and ends at timeoutSeconds (default: a random 30-60 minutes, as the real server).
import { query, sendStatus, type Ctx, type Server } from "./http.ts";
import { flag } from "./params.ts";
import { apiVersionOf } from "./resources.ts";
import { withType } from "./read.ts";
import { parseFieldSelector, parseLabelSelector } from "./selectors.ts";
import { badRequest } from "./status.ts";
import type { Obj, StoreEvent } from "./store.ts";
import { toTable, wantsTable } from "./table.ts";

export function handleWatch(srv: Server, ctx: Ctx): void {
  const res = ctx.resource;
  const label = parseLabelSelector(query(ctx, "labelSelector"));
  const field = parseFieldSelector(query(ctx, "fieldSelector"), res.kind);
  const inScope = (o: Obj) => ctx.namespace === undefined || o.metadata.namespace === ctx.namespace;
  const nameOk = (o: Obj) => ctx.name === undefined || o.metadata.name === ctx.name;
  const matches = (o: Obj | undefined) => o !== undefined && inScope(o) && nameOk(o) && label(o) && field(o);
  const rvText = query(ctx, "resourceVersion") ?? "";
  const start = rvText === "" || rvText === "0" ? undefined : Number(rvText);
  if (start !== undefined && !(Number.isInteger(start) && start >= 0))
    throw badRequest(
      `resourceVersion: Invalid value: ${JSON.stringify(rvText)}: must be a non-negative integer`,
    );
  const bookmarks = flag(ctx, "allowWatchBookmarks");
  const initial = flag(ctx, "sendInitialEvents");
  if (initial && !bookmarks) {
    return sendStatus(
      ctx,
      badRequest(
        'ListOptions.meta.k8s.io "" is invalid: allowWatchBookmarks: Required value: allowWatchBookmarks must be set to true when sendInitialEvents is set',
      ).status,
    );
  }
  const timeoutText = query(ctx, "timeoutSeconds");
  const timeoutMs =
    timeoutText !== null && Number(timeoutText) > 0
      ? Number(timeoutText) * 1000
      : (1800 + Math.random() * 1800) * 1000;
  const table = wantsTable(ctx.req);
  const includeObject = query(ctx, "includeObject");

  const { res: out } = ctx;
  out.writeHead(200, {
    "Content-Type": "application/json",
    "Cache-Control": "no-cache, private",
    "Transfer-Encoding": "chunked",
  });
  out.flushHeaders();
  const write = (type: string, object: unknown) => {
    if (!out.destroyed && !out.writableEnded) out.write(`${JSON.stringify({ type, object })}\n`);
  };
  const send = (type: string, o: Obj) => {
    const obj = withType(ctx, o);
    write(
      type,
      table ? toTable(res, [obj], { resourceVersion: o.metadata.resourceVersion }, includeObject) : obj,
    );
  };
  const bookmark = (annotations?: Record<string, string>) => {
    const metadata: Record<string, unknown> = { resourceVersion: String(srv.store.revision) };
    if (annotations !== undefined) metadata.annotations = annotations;
    write("BOOKMARK", { kind: res.kind, apiVersion: apiVersionOf(res), metadata });
  };

  let last = start ?? srv.store.revision;
  const deliver = (e: StoreEvent) => {
    if (e.res !== res || e.rv <= last) return;
    last = e.rv;
    const now = e.type === "DELETED" ? undefined : e.object;
    const was = matches(e.prev);
    if (now !== undefined && matches(now)) send(was ? "MODIFIED" : "ADDED", now);
    else if (was && e.prev !== undefined) {
      // left the selector (or was deleted): DELETED carrying the revision of this change
      const gone =
        e.type === "DELETED"
          ? e.object
          : { ...e.prev, metadata: { ...e.prev.metadata, resourceVersion: String(e.rv) } };
      send("DELETED", gone);
    }
  };

  if (start === undefined || initial) {
    last = srv.store.revision;
    for (const o of srv.store.list(res, ctx.namespace)) if (matches(o)) send("ADDED", o);
    if (initial) bookmark({ "k8s.io/initial-events-end": "true" });
  } else {
    const replay = srv.store.since(res, start);
    if ("expired" in replay) {
      write("ERROR", {
        kind: "Status",
        apiVersion: "v1",
        metadata: {},
        status: "Failure",
        message: replay.expired,
        reason: "Expired",
        code: 410,
      });
      out.end();
      return;
    }
    for (const e of replay) deliver(e);
  }

  const unsubscribe = srv.store.subscribe(deliver);
  const ticker = bookmarks ? setInterval(() => bookmark(), srv.bookmarkIntervalMs) : undefined;
  const timer = setTimeout(() => {
    if (bookmarks) bookmark();
    out.end();
  }, timeoutMs);
  srv.watches.add(out);
  const cleanup = () => {
    unsubscribe();
    clearInterval(ticker);
    clearTimeout(timer);
    srv.watches.delete(out);
  };
  out.on("close", cleanup);
  out.on("finish", cleanup);
}
