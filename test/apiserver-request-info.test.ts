// The authorizer's view of a request (lab/apiserver/request-info.ts) and RBAC's rule matching
// (rbac.ts ruleAllows), case by case as apiserver's RequestInfoFactory and the RBAC authorizer
// decide them; the wire-level behaviour is test/apiserver-rbac.test.ts.
import assert from "node:assert/strict";
import { test } from "node:test";
import { ruleAllows } from "../lab/apiserver/rbac.ts";
import { nonResourceRequest, requestAttributes, resourceRequest } from "../lab/apiserver/request-info.ts";

const info = (method: string, path: string) => {
  const a = requestAttributes(method, new URL(path, "https://lab.invalid"));
  return a.resourceRequest
    ? `${a.verb} ${a.apiGroup}/${a.resource}${a.subresource === "" ? "" : `/${a.subresource}`} ns=${a.namespace} name=${a.name}`
    : `${a.verb} path ${a.path}`;
};

test("verbs, namespaces, names and subresources as RequestInfoFactory derives them", () => {
  const cases: [string, string, string][] = [
    ["GET", "/api/v1/namespaces", "list /namespaces ns= name="],
    ["GET", "/api/v1/namespaces/other", "get /namespaces ns=other name=other"],
    ["PUT", "/api/v1/namespaces/other/finalize", "update /namespaces/finalize ns=other name=other"],
    ["GET", "/api/v1/namespaces/other/status", "get /namespaces/status ns=other name=other"],
    ["GET", "/api/v1/namespaces/other/pods", "list /pods ns=other name="],
    ["GET", "/api/v1/namespaces/other/pods/p/log", "get /pods/log ns=other name=p"],
    ["GET", "/api/v1/pods?watch=true", "watch /pods ns= name="],
    ["GET", "/api/v1/pods?watch", "watch /pods ns= name="],
    ["GET", "/api/v1/pods?watch=False", "list /pods ns= name="],
    ["GET", "/api/v1/watch/namespaces/other/pods", "watch /pods ns=other name="],
    ["GET", "/api/v1/proxy/namespaces/other/pods/p/x/y", "proxy /pods ns=other name=p"],
    ["DELETE", "/api/v1/namespaces/other/pods", "deletecollection /pods ns=other name="],
    ["DELETE", "/api/v1/namespaces/other/pods/p", "delete /pods ns=other name=p"],
    ["PATCH", "/apis/apps/v1/namespaces/x/deployments/d/scale", "patch apps/deployments/scale ns=x name=d"],
    ["POST", "/api/v1/namespaces/x/serviceaccounts/sa/token", "create /serviceaccounts/token ns=x name=sa"],
    ["GET", "/api/v1/nodes?fieldSelector=metadata.name%3Dn1", "list /nodes ns= name=n1"],
    ["GET", "/api/v1/nodes?fieldSelector=metadata.name%3D%3Dn1,x%3Dy&watch=1", "watch /nodes ns= name=n1"],
    ["GET", "/api/v1/nodes?fieldSelector=metadata.name!%3Dn1", "list /nodes ns= name="],
    ["GET", "/apis/apps/v1", "get path /apis/apps/v1"],
    ["GET", "/api/v1", "get path /api/v1"],
    ["POST", "/openapi/v2", "post path /openapi/v2"],
  ];
  for (const [method, path, want] of cases) assert.equal(info(method, path), `${want}`, `${method} ${path}`);
});

test("rule matching: wildcards, */subresource, resourceNames, nonResourceURLs", () => {
  const req = (path: string, method = "GET") =>
    requestAttributes(method, new URL(path, "https://lab.invalid"));
  const status = req("/api/v1/namespaces/d/services/web/status");
  const plain = req("/api/v1/namespaces/d/services/web");
  assert.equal(ruleAllows(status, { verbs: ["get"], apiGroups: [""], resources: ["*/status"] }), true);
  assert.equal(ruleAllows(plain, { verbs: ["get"], apiGroups: [""], resources: ["*/status"] }), false);
  assert.equal(ruleAllows(status, { verbs: ["*"], apiGroups: ["*"], resources: ["*"] }), true);
  assert.equal(ruleAllows(status, { verbs: ["get"], apiGroups: [""], resources: ["services"] }), false);
  assert.equal(ruleAllows(plain, { verbs: ["get"], apiGroups: ["apps"], resources: ["services"] }), false);
  const named = { verbs: ["get", "list"], apiGroups: [""], resources: ["services"], resourceNames: ["web"] };
  assert.equal(ruleAllows(plain, named), true);
  assert.equal(ruleAllows(req("/api/v1/namespaces/d/services"), named), false);
  // nonResourceURLs apply to paths only, and a resource rule never to a path
  const urls = { verbs: ["get"], nonResourceURLs: ["/healthz", "/apis/*"] };
  assert.equal(ruleAllows(req("/apis/apps/v1"), urls), true);
  assert.equal(ruleAllows(req("/healthz/etcd"), urls), false);
  assert.equal(ruleAllows(req("/apis/apps/v1", "POST"), urls), false);
  assert.equal(ruleAllows(plain, urls), false);
  assert.equal(ruleAllows(req("/metrics"), { verbs: ["*"], apiGroups: ["*"], resources: ["*"] }), false);
});

test("requests no URL asked: a resource's gives what it is told and \"\" for the rest, as a URL's would", () => {
  assert.deepEqual(
    resourceRequest("bind", {
      apiGroup: "rbac.authorization.k8s.io",
      apiVersion: "*",
      namespace: "ns",
      resource: "roles",
      name: "r",
    }),
    {
      resourceRequest: true,
      verb: "bind",
      path: "",
      apiGroup: "rbac.authorization.k8s.io",
      apiVersion: "*",
      namespace: "ns",
      resource: "roles",
      subresource: "",
      name: "r",
    },
  );
  const url = requestAttributes("GET", new URL("https://lab.invalid/api/v1/namespaces/ns/pods/p/log"));
  assert.deepEqual(
    resourceRequest("get", {
      apiVersion: "v1",
      namespace: "ns",
      resource: "pods",
      subresource: "log",
      name: "p",
    }),
    { ...url, path: "" },
    "as the URL's, but for the path no URL gave",
  );
  assert.deepEqual(
    nonResourceRequest("get", "/healthz"),
    requestAttributes("GET", new URL("https://lab.invalid/healthz")),
  );
});
