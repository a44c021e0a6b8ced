// The create-only review APIs a server's delegated authentication and authorization use (what
// kube-rbac-proxy, metrics-server and aggregated API servers call): SubjectAccessReview and
// LocalSubjectAccessReview (authorization.k8s.io: may this user do this?) and TokenReview
// (authentication.k8s.io: who is this token?), answered as their registries do and authorized
// by RBAC themselves (the bootstrap role system:auth-delegator grants both). Driven by the real
// `kubectl create -f`; the Python client's view: test/python/test_reviews.py.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { missing, rbacWorld, USER } from "./rbac-fixture.ts";

const w = rbacWorld();
const { must } = w;

type Review = {
  metadata: Record<string, unknown>;
  spec: Record<string, unknown>;
  status: Record<string, unknown>;
};
const created = (yaml: string, ...args: string[]) =>
  w.kubectlIn(yaml, "create", ["-o", "json", ...args]).then((r) => {
    assert.equal(r.code, 0, r.stderr);
    return JSON.parse(r.stdout) as Review;
  });
const sar = (spec: string, kind = "SubjectAccessReview", meta = "") =>
  `apiVersion: authorization.k8s.io/v1\nkind: ${kind}\n${meta}spec:\n${spec}`;
const listServices = `  resourceAttributes: {namespace: default, verb: list, resource: services}\n`;

describe("SubjectAccessReview, LocalSubjectAccessReview and TokenReview", { skip: missing }, () => {
  before(() => w.start());
  after(() => w.stop());

  it("a SubjectAccessReview answers for the user and groups it names, as the authorizer would", async () => {
    const no = await created(sar(`  user: ${USER}\n${listServices}`));
    assert.deepEqual(no.status, { allowed: false });
    assert.deepEqual(no.spec.resourceAttributes, {
      namespace: "default",
      verb: "list",
      resource: "services",
    });
    await must("create", "role", "svc", "--verb=list", "--resource=services");
    await must("create", "rolebinding", "svc", "--role=svc", "--serviceaccount=default:bot");
    const yes = await created(sar(`  user: ${USER}\n${listServices}`));
    assert.deepEqual(yes.status, {
      allowed: true,
      reason: 'RBAC: allowed by RoleBinding "svc/default" of Role "svc" to ServiceAccount "bot/default"',
    });
    // only what the review names: no system:authenticated is added, so no discovery for "jane"
    const jane = await created(sar("  user: jane\n  nonResourceAttributes: {verb: get, path: /api}\n"));
    assert.deepEqual(jane.status, { allowed: false });
    const anyone = await created(
      sar(
        "  user: jane\n  groups: [system:unauthenticated]\n  nonResourceAttributes: {verb: get, path: /healthz}\n",
      ),
    );
    assert.equal(anyone.status.allowed, true);
    const masters = await created(sar(`  groups: [system:masters]\n${listServices}`));
    assert.deepEqual(masters.status, { allowed: true });
  });

  it("an invalid review is 422 with the registry's validation texts", async () => {
    const r = await w.kubectlIn(sar("  resourceAttributes: {verb: get, resource: pods}\n"), "create");
    assert.equal(
      r.stderr.trim(),
      'The SubjectAccessReview "" is invalid: spec.user: Invalid value: "": at least one of user or group must be specified',
    );
    const local = await w.kubectlIn(
      sar(
        "  user: jane\n  resourceAttributes: {namespace: other, verb: get, resource: pods}\n",
        "LocalSubjectAccessReview",
        "metadata: {namespace: default}\n",
      ),
      "create",
    );
    assert.equal(
      local.stderr.trim(),
      'The LocalSubjectAccessReview "" is invalid: spec.resourceAttributes.namespace: Invalid value: "other": must match metadata.namespace',
    );
  });

  it("a LocalSubjectAccessReview answers in its namespace and takes no non-resource attributes", async () => {
    const review = await created(
      sar(`  user: ${USER}\n${listServices}`, "LocalSubjectAccessReview", "metadata: {namespace: default}\n"),
    );
    assert.equal(review.metadata.namespace, "default");
    assert.equal(review.status.allowed, true);
    const nonResource = await w.kubectlIn(
      sar("  user: jane\n  nonResourceAttributes: {verb: get, path: /healthz}\n", "LocalSubjectAccessReview"),
      "create",
    );
    assert.equal(
      nonResource.stderr.trim(),
      'The LocalSubjectAccessReview "" is invalid: spec.nonResourceAttributes: Invalid value: authorization.NonResourceAttributes{Path:"/healthz", Verb:"get"}: disallowed on this kind of request',
    );
  });

  it("a TokenReview says who a token is, for the server's audience or the ones it names", async () => {
    const review = await created(
      `apiVersion: authentication.k8s.io/v1\nkind: TokenReview\nspec: {token: ${w.token()}}\n`,
    );
    const status = review.status as {
      authenticated: boolean;
      user: { username: string; uid?: string; groups: string[] };
      audiences: string[];
    };
    assert.equal(status.authenticated, true);
    assert.equal(status.user.username, USER);
    assert.ok(status.user.uid !== undefined && status.user.uid !== "");
    assert.deepEqual(status.user.groups, [
      "system:serviceaccounts",
      "system:serviceaccounts:default",
      "system:authenticated",
    ]);
    assert.deepEqual(status.audiences, ["https://kubernetes.default.svc.cluster.local"]);
    const other = await created(
      `apiVersion: authentication.k8s.io/v1\nkind: TokenReview\nspec: {token: ${w.token()}, audiences: [vault]}\n`,
    );
    // not for that audience: not authenticated (false is omitted), and no user
    assert.equal(other.status.authenticated, undefined);
    assert.deepEqual(other.status.user, {});
    const bad = await created(
      "apiVersion: authentication.k8s.io/v1\nkind: TokenReview\nspec: {token: nope}\n",
    );
    assert.deepEqual(bad.status, { user: {}, error: "invalid bearer token" });
    const empty = await w.kubectlIn(
      "apiVersion: authentication.k8s.io/v1\nkind: TokenReview\nspec: {}\n",
      "create",
    );
    assert.equal(
      empty.stderr.trim(),
      'Error from server (BadRequest): error when creating "STDIN": token is required for TokenReview in authentication',
    );
  });

  it("creating a review is itself authorized: system:auth-delegator grants both", async () => {
    const denied = await w.kubectlIn(sar(`  user: jane\n${listServices}`), "create", [], w.token());
    assert.equal(
      denied.stderr.trim(),
      `Error from server (Forbidden): error when creating "STDIN": subjectaccessreviews.authorization.k8s.io is forbidden: User "${USER}" cannot create resource "subjectaccessreviews" in API group "authorization.k8s.io" at the cluster scope`,
    );
    await must(
      "create",
      "clusterrolebinding",
      "bot-delegator",
      "--clusterrole=system:auth-delegator",
      "--serviceaccount=default:bot",
    );
    const review = await w.kubectlIn(
      `apiVersion: authentication.k8s.io/v1\nkind: TokenReview\nspec: {token: ${w.token()}}\n`,
      "create",
      ["-o", "jsonpath={.status.user.username}"],
      w.token(),
    );
    assert.equal(review.stdout, USER, review.stderr);
    assert.equal(await w.can("create", "subjectaccessreviews.authorization.k8s.io"), "yes");
  });
});
