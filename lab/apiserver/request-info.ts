// What a request asks to do, in the authorizer's terms, parsed from the method and URL alone as
// apiserver's RequestInfoFactory does (k8s.io/apiserver/pkg/endpoints/request/requestinfo.go):
// before routing, so a path that names no served resource is still authorized first (403 before
// 404, as in kube-apiserver).
import { boolParam } from "./params.ts";

export interface RequestAttributes {
  /** false: a path outside /api/VERSION/... and /apis/GROUP/VERSION/... (discovery, /openapi) */
  resourceRequest: boolean;
  /** get, list, watch, create, update, patch, delete, deletecollection; lower-cased method otherwise */
  verb: string;
  path: string;
  apiGroup: string;
  apiVersion: string;
  namespace: string;
  resource: string;
  subresource: string;
  name: string;
}

const METHOD_VERBS: Record<string, string> = {
  POST: "create",
  GET: "get",
  HEAD: "get",
  PUT: "update",
  PATCH: "patch",
  DELETE: "delete",
};

/** A `metadata.name=x` (or `==`) term of a field selector, as fields.Selector.RequiresExactMatch. */
function exactName(selector: string | null): string | undefined {
  if (selector === null) return undefined;
  for (const term of selector.split(",")) {
    const m = /^\s*metadata\.name\s*==?(.*)$/.exec(term);
    if (m !== null && !term.includes("!=")) return m[1]?.trim();
  }
  return undefined;
}

/** path.IsValidPathSegmentName: what may stand as a name in a URL segment. */
const validSegment = (name: string) => name !== "." && name !== ".." && !/[/%]/.test(name);

const NOTHING = {
  path: "",
  apiGroup: "",
  apiVersion: "",
  namespace: "",
  resource: "",
  subresource: "",
  name: "",
};

/** A request for a path, not a resource (SelfSubjectAccessReview's nonResourceAttributes too). */
export const nonResourceRequest = (verb: string, path: string): RequestAttributes => ({
  ...NOTHING,
  resourceRequest: false,
  verb,
  path,
});

/**
 * A request for a resource that no URL asked (SelfSubjectAccessReview's resourceAttributes, the
 * escalation checks' `escalate` and `bind`); what `what` leaves out is "".
 */
export const resourceRequest = (
  verb: string,
  what: Partial<Omit<RequestAttributes, "resourceRequest" | "verb" | "path">>,
): RequestAttributes => ({ ...NOTHING, ...what, resourceRequest: true, verb });

export function requestAttributes(method: string, url: URL): RequestAttributes {
  const path = url.pathname;
  const nonResource = nonResourceRequest(method.toLowerCase(), path);
  let parts = path.replace(/^\/+|\/+$/g, "").split("/");
  if (parts.length < 3 || (parts[0] !== "api" && parts[0] !== "apis")) return nonResource;
  const grouped = parts[0] === "apis";
  parts = parts.slice(1);
  let apiGroup = "";
  if (grouped) {
    if (parts.length < 3) return nonResource;
    apiGroup = parts[0] ?? "";
    parts = parts.slice(1);
  }
  const apiVersion = parts[0] ?? "";
  parts = parts.slice(1);
  let verb = METHOD_VERBS[method] ?? "";
  // the legacy /watch/ and /proxy/ prefixes name the verb themselves
  if ((parts[0] === "watch" || parts[0] === "proxy") && parts.length >= 2) {
    verb = parts[0];
    parts = parts.slice(1);
  }
  let namespace = "";
  if (parts[0] === "namespaces" && parts.length > 1) {
    namespace = parts[1] ?? "";
    // a namespace's own subresources (status, finalize) stay on the namespaces resource
    if (parts.length > 2 && parts[2] !== "status" && parts[2] !== "finalize") parts = parts.slice(2);
  }
  const decode = (s: string | undefined) => {
    try {
      return decodeURIComponent(s ?? "");
    } catch {
      return s ?? "";
    }
  };
  const resource = decode(parts[0]);
  let name = decode(parts[1]);
  const subresource = parts.length >= 3 && verb !== "proxy" ? decode(parts[2]) : "";
  if (name === "" && verb === "get") {
    verb = (boolParam({ url }, "watch") ?? false) ? "watch" : "list";
    // a list or watch narrowed to one name is authorized as that name (resourceNames rules apply)
    const only = exactName(url.searchParams.get("fieldSelector"));
    if (only !== undefined && validSegment(only)) name = only;
  }
  if (name === "" && verb === "delete") verb = "deletecollection";
  return { resourceRequest: true, verb, path, apiGroup, apiVersion, namespace, resource, subresource, name };
}
