/* eslint-disable @typescript-eslint/no-unsafe-member-access -- Status objects from the wire are plain JSON */
// Authentication and RBAC in the lab API server, driven by the real kubectl: ServiceAccount
// tokens from TokenRequest (`kubectl create token`), `kubectl auth whoami` and `auth can-i`, and
// the 401 and 403 answers with kube-apiserver's texts (responsewriters.Forbidden's
// forbiddenMessage wrapped in apierrors.NewForbidden), which kubectl prints as
// `Error from server (Forbidden): ...`. Writing RBAC objects (validation, escalation) and
// impersonation: test/apiserver-rbac-writes.test.ts. The Python client's view:
// test/python/test_rbac.py.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { request } from "../lab/apiserver/client.ts";
import { missing, rbacWorld, USER } from "./rbac-fixture.ts";

const w = rbacWorld();
const { kubectl, must, as, can, raw } = w;

describe("RBAC in the lab API server", { skip: missing }, () => {
  before(() => w.start());
  after(() => w.stop());

  it("kubectl create token mints a ServiceAccount token: its identity and groups as the real authenticator gives them", async () => {
    const claims = JSON.parse(Buffer.from(w.token().split(".")[1] ?? "", "base64url").toString()) as {
      sub: string;
      aud: string[];
    };
    assert.equal(claims.sub, USER);
    assert.deepEqual(claims.aud, ["https://kubernetes.default.svc.cluster.local"]);
    const who = JSON.parse(await as("auth", "whoami", "-o", "json").then((r) => r.stdout)) as {
      status: { userInfo: { username: string; groups: string[] } };
    };
    assert.equal(who.status.userInfo.username, USER);
    assert.deepEqual(who.status.userInfo.groups, [
      "system:serviceaccounts",
      "system:serviceaccounts:default",
      "system:authenticated",
    ]);
    const none = await kubectl("create", "token", "nobody");
    assert.equal(none.stderr.trim(), 'error: failed to create token: serviceaccounts "nobody" not found');
    const short = await kubectl("create", "token", "bot", "--duration=1m");
    assert.equal(
      short.stderr.trim(),
      'error: failed to create token: TokenRequest.authentication.k8s.io "" is invalid: spec.expirationSeconds: Invalid value: 60: may not specify a duration less than 10 minutes',
    );
  });

  it("an unknown token, and the token of a deleted ServiceAccount, are 401 Unauthorized", async () => {
    const bad = await kubectl("--token", "not-a-token", "get", "services");
    // kubectl's wording depends on whether discovery was cached; the verdict does not
    assert.match(bad.stderr, /^error: You must be logged in to the server \(/m);
    const r = await raw("GET", "/api/v1/namespaces/default/services", undefined, "not-a-token");
    assert.equal(r.status, 401);
    assert.deepEqual([r.json.reason, r.json.message], ["Unauthorized", "Unauthorized"]);
    await must("create", "serviceaccount", "gone");
    const t = await must("create", "token", "gone");
    assert.equal((await raw("GET", "/api", undefined, t)).status, 200);
    await must("delete", "serviceaccount", "gone");
    assert.equal((await raw("GET", "/api", undefined, t)).status, 401);
  });

  it("without a binding every request is 403 Forbidden, worded as kube-apiserver words it", async () => {
    const list = await as("get", "services");
    assert.equal(
      list.stderr.trim(),
      `Error from server (Forbidden): services is forbidden: User "${USER}" cannot list resource "services" in API group "" in the namespace "default"`,
    );
    const nodes = await as("get", "nodes");
    assert.equal(
      nodes.stderr.trim(),
      `Error from server (Forbidden): nodes is forbidden: User "${USER}" cannot list resource "nodes" in API group "" at the cluster scope`,
    );
    const one = await raw("GET", "/apis/apps/v1/namespaces/default/deployments/web");
    assert.equal(one.status, 403);
    assert.deepEqual(one.json, {
      kind: "Status",
      apiVersion: "v1",
      metadata: {},
      status: "Failure",
      message: `deployments.apps "web" is forbidden: User "${USER}" cannot get resource "deployments" in API group "apps" in the namespace "default"`,
      reason: "Forbidden",
      details: { name: "web", group: "apps", kind: "deployments" },
      code: 403,
    });
    const path = await raw("GET", "/metrics");
    assert.equal(path.json.message, `forbidden: User "${USER}" cannot get path "/metrics"`);
    assert.deepEqual(path.json.details, {});
    // the verb as RequestInfoFactory derives it: watch, deletecollection, a subresource
    const verbs: [string, string, string][] = [
      [
        "GET",
        "/api/v1/services?watch=1",
        'cannot watch resource "services" in API group "" at the cluster scope',
      ],
      ["DELETE", "/api/v1/namespaces/default/services", 'cannot deletecollection resource "services"'],
      ["PATCH", "/api/v1/namespaces/default/services/x/status", 'cannot patch resource "services/status"'],
      // authorized before it is routed: a resource nobody serves is 403, not 404
      ["GET", "/api/v1/namespaces/default/gizmos", 'cannot list resource "gizmos"'],
    ];
    for (const [method, p, text] of verbs) {
      const r = await raw(method, p, method === "PATCH" ? {} : undefined);
      assert.equal(r.status, 403, `${method} ${p}`);
      assert.ok((r.json.message as string).includes(text), `${method} ${p}: ${r.json.message}`);
    }
    // discovery and self-reviews come from the bootstrap roles every authenticated user has
    assert.equal((await as("api-resources", "-o", "name")).code, 0);
    assert.equal((await as("auth", "can-i", "list", "services")).stdout.trim(), "no");
  });

  it("a Role bound in one namespace allows its verbs there, by resourceNames, with subresources", async () => {
    await must("create", "role", "reader", "--verb=get,list,watch", "--resource=services");
    await must(
      "create",
      "role",
      "one",
      "--verb=get,list,update",
      "--resource=configmaps",
      "--resource-name=cfg",
    );
    await must("create", "role", "status", "--verb=patch", "--resource=services/status");
    for (const r of ["reader", "one", "status"])
      await must("create", "rolebinding", r, `--role=${r}`, "--serviceaccount=default:bot");
    assert.equal((await as("get", "services")).code, 0);
    const elsewhere = await as("get", "services", "-n", "kube-system");
    assert.match(
      elsewhere.stderr,
      /cannot list resource "services" in API group "" in the namespace "kube-system"/,
    );
    assert.equal(await can("get", "configmaps/cfg"), "yes");
    assert.equal(await can("get", "configmaps/other"), "no");
    // resourceNames cannot cover a list of everything
    assert.equal(await can("list", "configmaps"), "no");
    assert.equal(await can("patch", "services/web", "--subresource=status"), "yes");
    assert.equal(await can("patch", "services/web"), "no");
    // `auth can-i --list` (SelfSubjectRulesReview): the rules bound here, as kubectl tabulates them
    const list = (await as("auth", "can-i", "--list")).stdout;
    assert.match(list, /^configmaps\s+\[\]\s+\[cfg\]\s+\[get list update\]$/m);
    assert.match(list, /^services\/status\s+\[\]\s+\[\]\s+\[patch\]$/m);
    assert.match(list, /^\s+\[\/apis\/\*\]\s+\[\]\s+\[get\]$/m);
    assert.doesNotMatch((await as("auth", "can-i", "--list", "-n", "kube-system")).stdout, /^configmaps/m);
    // a list narrowed to the one name by a field selector is authorized as that name
    const byName = await raw(
      "GET",
      "/api/v1/namespaces/default/configmaps?fieldSelector=metadata.name%3Dcfg",
    );
    assert.equal(byName.status, 200);
    const other = await raw("GET", "/api/v1/namespaces/default/configmaps?fieldSelector=metadata.name%3Dx");
    assert.equal(other.status, 403);
  });

  it("ClusterRoles: wildcards, */subresource, nonResourceURLs, Group subjects; a missing role is the 403's reason", async () => {
    await must("create", "namespace", "team");
    await must("create", "clusterrole", "all-in-team", "--verb=*", "--resource=*.*");
    await must(
      "create",
      "rolebinding",
      "all",
      "-n",
      "team",
      "--clusterrole=all-in-team",
      "--group=system:serviceaccounts:default",
    );
    assert.equal(await can("delete", "deployments.apps", "-n", "team"), "yes");
    assert.equal(await can("delete", "deployments.apps", "-n", "default"), "no");
    // kubectl create clusterrole refuses "*/status"; the API takes it
    await request(w.api(), "POST", "/apis/rbac.authorization.k8s.io/v1/clusterroles", {
      body: {
        metadata: { name: "any-status" },
        rules: [{ apiGroups: ["*"], resources: ["*/status"], verbs: ["get"] }],
      },
    });
    await must(
      "create",
      "clusterrolebinding",
      "any-status",
      "--clusterrole=any-status",
      "--serviceaccount=default:bot",
    );
    assert.equal(await can("get", "nodes/n1", "--subresource=status"), "yes");
    assert.equal(await can("get", "nodes/n1"), "no");
    await must("create", "clusterrole", "metrics", "--verb=get", "--non-resource-url=/metrics");
    await must("create", "clusterrolebinding", "metrics", "--clusterrole=metrics", `--user=${USER}`);
    assert.equal((await raw("GET", "/metrics")).status, 404); // allowed; the lab serves no /metrics
    await must(
      "create",
      "clusterrolebinding",
      "ghost",
      "--clusterrole=ghost",
      "--serviceaccount=default:bot",
    );
    const r = await as("get", "secrets", "-n", "kube-system");
    assert.equal(
      r.stderr.trim(),
      `Error from server (Forbidden): secrets is forbidden: User "${USER}" cannot list resource "secrets" in API group "" in the namespace "kube-system": RBAC: clusterrole.rbac.authorization.k8s.io "ghost" not found`,
    );
    await must("delete", "clusterrolebinding", "ghost");
  });

  it("lab-admin (system:masters) may do everything, as the bootstrap cluster-admin binding says", async () => {
    assert.equal((await kubectl("auth", "can-i", "*", "*")).stdout.trim(), "yes");
    const crb = JSON.parse(await must("get", "clusterrolebinding", "cluster-admin", "-o", "json")) as {
      subjects: { kind: string; name: string }[];
    };
    assert.deepEqual(
      crb.subjects.map((s) => `${s.kind}/${s.name}`),
      ["Group/system:masters"],
    );
  });
});
