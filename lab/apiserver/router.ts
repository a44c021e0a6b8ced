// Turns an HTTP request into a verb on a resource: authentication (bearer token, 401 Status
// otherwise, authn.ts), impersonation (impersonation.ts), authorization (RBAC, 403 Status as
// kube-apiserver words it, rbac.ts), injected faults, discovery and OpenAPI documents, then the
// resource paths (/api/v1/..., /apis/<group>/<version>/..., namespaced and cluster-scoped,
// subresources, the token subresource and the self reviews of auth-requests.ts).
// Every failure leaves as a Status; nothing a client sends can crash the server.
import type { IncomingMessage, ServerResponse } from "node:http";
import { setTimeout as sleep } from "node:timers/promises";
import {
  handleSelfSubjectAccessReview,
  handleSelfSubjectReview,
  handleSelfSubjectRulesReview,
  handleTokenRequest,
} from "./auth-requests.ts";
import type { Tokens } from "./authn.ts";
import {
  aggregatedDiscovery,
  apiGroup,
  apiGroupList,
  apiResourceList,
  apiVersions,
  REVIEWS,
  sendAggregated,
  versionInfo,
  wantsAggregated,
} from "./discovery.ts";
import type { Faults } from "./faults.ts";
import { sendJson, sendStatus, type Ctx, type Server } from "./http.ts";
import { impersonation } from "./impersonation.ts";
import { openApiDocument, openApiRoot, openApiText, openApiV2Protobuf, sendOpenApi } from "./openapi.ts";
import { handleLocalSubjectAccessReview, handleSubjectAccessReview, handleTokenReview } from "./reviews.ts";
import { flag } from "./params.ts";
import { authorize, forbiddenMessage, type UserInfo } from "./rbac.ts";
import { handleGet, handleList } from "./read.ts";
import { requestAttributes, type RequestAttributes } from "./request-info.ts";
import { findResource } from "./resources.ts";
import { handleScale } from "./scale.ts";
import {
  asStatus,
  failure,
  forbiddenRequest,
  internalError,
  methodNotAllowed,
  pathNotFound,
  unauthorized,
} from "./status.ts";
import { handleCreate, handleDelete, handlePatch, handleUpdate } from "./verbs.ts";
import { handleWatch } from "./watch.ts";

export interface RouterOptions {
  tokens: Tokens;
  faults: Faults;
  serverAddress: () => string;
  log?: (line: string) => void;
}

const HEALTH = new Set(["/healthz", "/livez", "/readyz"]);

function documents(path: string, address: string): unknown {
  if (path === "/version") return versionInfo();
  if (path === "/api") return apiVersions(address);
  if (path === "/apis") return apiGroupList();
  if (path === "/openapi/v3") return openApiRoot();
  if (path.startsWith("/openapi/v3/")) return openApiDocument(path.slice("/openapi/v3/".length));
  const core = /^\/api\/([^/]+)$/.exec(path);
  if (core !== null) return apiResourceList("", core[1] ?? "");
  const group = /^\/apis\/([^/]+)$/.exec(path);
  if (group !== null) return apiGroup(group[1] ?? "");
  const gv = /^\/apis\/([^/]+)\/([^/]+)$/.exec(path);
  if (gv !== null) return apiResourceList(gv[1] ?? "", gv[2] ?? "");
  return undefined;
}

async function dispatch(
  srv: Server,
  o: RouterOptions,
  req: IncomingMessage,
  res: ServerResponse,
  url: URL,
  base: Pick<Ctx, "res" | "warnings">,
): Promise<void> {
  const method = req.method ?? "GET";
  const path = url.pathname.replace(/\/+$/, "") || "/";
  // Every path, the health ones too, is authenticated and authorized first: a bad token is 401
  // everywhere; no token is system:anonymous, whom system:public-info-viewer lets see /healthz.
  let user = o.tokens.authenticate(req.headers.authorization, srv.store);
  if (user === undefined) return sendStatus(base, unauthorized().status);
  const imp = impersonation(srv.store, user, req);
  if (imp !== undefined && "error" in imp) return sendStatus(base, internalError(imp.error).status);
  if (imp !== undefined && "denied" in imp)
    return sendStatus(base, denied(user, imp.denied, imp.reason).status);
  if (imp !== undefined) user = imp.as;
  const attrs = requestAttributes(method, url);
  const decision = authorize(srv.store, user, attrs);
  if (!decision.allowed) return sendStatus(base, denied(user, attrs, decision.reason).status);
  if (HEALTH.has(path)) {
    res.writeHead(200, { "Content-Type": "text/plain; charset=utf-8" });
    res.end("ok");
    return;
  }
  const fault = o.faults.check(method, `${url.pathname}${url.search}`);
  if (o.faults.latencyMs > 0) await sleep(o.faults.latencyMs);
  if (fault !== undefined) return sendStatus(base, fault.status, fault.headers);

  if ((path === "/api" || path === "/apis") && method === "GET" && wantsAggregated(req.headers.accept))
    return sendAggregated(base, req, aggregatedDiscovery(path === "/api"));
  if (path.startsWith("/openapi/v3/") && method === "GET") {
    const gv = path.slice("/openapi/v3/".length);
    const text = openApiText(gv);
    if (text !== undefined) return sendOpenApi(base, req, url, gv, text);
  }
  const doc = documents(path, o.serverAddress());
  if (doc !== undefined)
    return method === "GET" ? sendJson(base, 200, doc) : sendStatus(base, methodNotAllowed().status);
  if (path === "/openapi/v2" && method === "GET") {
    res.writeHead(200, { "Content-Type": "application/com.github.proto-openapi.spec.v2.v1.0+protobuf" });
    res.end(openApiV2Protobuf());
    return;
  }

  let segs: string[];
  try {
    segs = path.split("/").slice(1).map(decodeURIComponent);
  } catch {
    return sendStatus(
      base,
      failure(400, "BadRequest", `invalid URL escape in ${JSON.stringify(path)}`).status,
    );
  }
  let group: string;
  let version: string;
  let rest: string[];
  if (segs[0] === "api" && segs.length >= 3) [group, version, rest] = ["", segs[1] ?? "", segs.slice(2)];
  else if (segs[0] === "apis" && segs.length >= 4)
    [group, version, rest] = [segs[1] ?? "", segs[2] ?? "", segs.slice(3)];
  else return sendStatus(base, pathNotFound().status);

  // the reviews: cluster-scoped, but for LocalSubjectAccessReview under namespaces/NS/
  const [reviewNs, reviewPath] =
    rest[0] === "namespaces" && rest.length === 3 ? [rest[1] ?? "", rest[2]] : [undefined, rest.join("/")];
  const review = REVIEWS.find(
    (r) =>
      r.group === group &&
      r.version === version &&
      r.resource === reviewPath &&
      (r.namespaced === true) === (reviewNs !== undefined),
  );
  if (review !== undefined) {
    if (method !== "POST") return sendStatus(base, methodNotAllowed().status);
    const rctx = { req, res, warnings: base.warnings, user };
    switch (review.kind) {
      case "SelfSubjectReview":
        return handleSelfSubjectReview(rctx);
      case "SelfSubjectRulesReview":
        return handleSelfSubjectRulesReview(srv, rctx);
      case "SubjectAccessReview":
        return handleSubjectAccessReview(srv, rctx);
      case "LocalSubjectAccessReview":
        return handleLocalSubjectAccessReview(srv, rctx, reviewNs ?? "");
      case "TokenReview":
        return handleTokenReview(srv, rctx, o.tokens);
    }
    return handleSelfSubjectAccessReview(srv, rctx);
  }

  let namespace: string | undefined;
  const nested =
    rest[0] === "namespaces" && rest.length >= 3 ? findResource(group, version, rest[2] ?? "") : undefined;
  if (nested?.namespaced === true) {
    namespace = rest[1];
    rest = rest.slice(2);
  }
  const [resourceName = "", name, subresource = "", ...extra] = rest;
  const resource = findResource(group, version, resourceName);
  if (
    resource === undefined ||
    extra.length > 0 ||
    (subresource !== "" &&
      !(subresource === "status" && resource.status) &&
      !(subresource === "scale" && resource.scale) &&
      !(subresource === "token" && resource.resource === "serviceaccounts"))
  ) {
    return sendStatus(base, pathNotFound().status);
  }
  if (resource.namespaced && namespace === undefined && name !== undefined)
    return sendStatus(base, pathNotFound().status);
  const ctx: Ctx = {
    req,
    res,
    url,
    warnings: base.warnings,
    user,
    resource,
    namespace,
    name,
    subresource,
  };
  if (subresource === "token") {
    if (method === "POST") return handleTokenRequest(srv, ctx, o.tokens);
    return sendStatus(base, methodNotAllowed().status);
  }
  if (subresource === "scale") {
    if (["GET", "PUT", "PATCH"].includes(method)) return handleScale(srv, ctx);
    return sendStatus(base, methodNotAllowed().status);
  }
  switch (method) {
    case "GET":
      if (flag(ctx, "watch")) return handleWatch(srv, ctx);
      return name === undefined ? handleList(srv, ctx) : handleGet(srv, ctx);
    case "POST":
      if (name !== undefined || (resource.namespaced && namespace === undefined)) break;
      return handleCreate(srv, ctx);
    case "PUT":
      if (name === undefined) break;
      return handleUpdate(srv, ctx);
    case "PATCH":
      if (name === undefined) break;
      return handlePatch(srv, ctx);
    case "DELETE":
      if (subresource !== "" || (name === undefined && resource.namespaced && namespace === undefined)) break;
      return handleDelete(srv, ctx);
  }
  sendStatus(base, methodNotAllowed().status);
}

/** responsewriters.Forbidden: apierrors.NewForbidden over the request's group and resource. */
function denied(user: UserInfo, a: RequestAttributes, reason: string) {
  const message = forbiddenMessage(user, a);
  return forbiddenRequest(a.apiGroup, a.resource, a.name, reason === "" ? message : `${message}: ${reason}`);
}

export function router(srv: Server, o: RouterOptions) {
  return (req: IncomingMessage, res: ServerResponse): void => {
    const base = { res, warnings: [] as string[] };
    let url: URL;
    try {
      url = new URL(req.url ?? "/", "https://lab.invalid");
    } catch {
      return sendStatus(base, failure(400, "BadRequest", "malformed request URL").status);
    }
    const started = Date.now();
    res.on("finish", () =>
      o.log?.(
        `${req.method ?? "?"} ${url.pathname}${url.search} ${res.statusCode} ${Date.now() - started}ms ${JSON.stringify(req.headers["user-agent"] ?? "")}`,
      ),
    );
    dispatch(srv, o, req, res, url, base).catch((err: unknown) => {
      if (res.headersSent) {
        res.destroy();
        return;
      }
      // drain what the client still sends, so it can read our answer instead of a reset
      req.resume();
      sendStatus(base, asStatus(err));
    });
  };
}
