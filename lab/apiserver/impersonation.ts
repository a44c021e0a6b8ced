// Impersonation (`kubectl --as`, `--as-group`), as apiserver's WithImpersonation filter does it:
// each Impersonate-User / -Group / -Uid header is authorized as the verb `impersonate` on users,
// groups, uids — or, for a `system:serviceaccount:NS:NAME` user, on that ServiceAccount in its
// namespace — and the request then runs as the impersonated user. So an operator can ask
// `kubectl auth can-i --as=system:serviceaccount:kube-nftlb:kube-nftlb-syncer ...`.
import type { IncomingMessage } from "node:http";
import { authorize, type UserInfo } from "./rbac.ts";
import type { RequestAttributes } from "./request-info.ts";
import type { Store } from "./store.ts";

const SA_PREFIX = "system:serviceaccount:";

const acting = (resource: string, name: string, namespace = "", apiGroup = ""): RequestAttributes => ({
  resourceRequest: true,
  verb: "impersonate",
  path: "",
  apiGroup,
  apiVersion: "",
  namespace,
  resource,
  subresource: "",
  name,
});

export type Impersonated =
  { as: UserInfo } | { denied: RequestAttributes; reason: string } | { error: string };

/** undefined: no impersonation asked for. */
export function impersonation(store: Store, actor: UserInfo, req: IncomingMessage): Impersonated | undefined {
  const h = req.headersDistinct;
  const username = h["impersonate-user"]?.[0];
  const groups = h["impersonate-group"] ?? [];
  const uid = h["impersonate-uid"]?.[0];
  if (username === undefined) {
    if (groups.length > 0 || uid !== undefined)
      return { error: "requested impersonation of groups or uid without impersonating a user" };
    return undefined;
  }
  const checks: RequestAttributes[] = [];
  let defaultGroups: string[] = [];
  if (username.startsWith(SA_PREFIX)) {
    const [ns = "", name = ""] = username.slice(SA_PREFIX.length).split(":");
    checks.push(acting("serviceaccounts", name, ns));
    defaultGroups = ["system:serviceaccounts", `system:serviceaccounts:${ns}`];
  } else checks.push(acting("users", username));
  for (const g of groups) checks.push(acting("groups", g));
  if (uid !== undefined) checks.push(acting("uids", uid, "", "authentication.k8s.io"));
  for (const attrs of checks) {
    const d = authorize(store, actor, attrs);
    if (!d.allowed) return { denied: attrs, reason: d.reason };
  }
  const all = groups.length > 0 ? [...groups] : defaultGroups;
  // a non-anonymous user is authenticated unless the caller said otherwise; system:anonymous is
  // always unauthenticated, as the anonymous authenticator would make it
  if (username === "system:anonymous") {
    if (!all.includes("system:unauthenticated")) all.push("system:unauthenticated");
  } else if (!all.includes("system:authenticated") && !all.includes("system:unauthenticated"))
    all.push("system:authenticated");
  return { as: { username, ...(uid !== undefined ? { uid } : {}), groups: all } };
}
