/* eslint-disable @typescript-eslint/no-unsafe-member-access -- Status objects from the wire are plain JSON */
// Authentication and RBAC in the lab API server, driven by the real kubectl: ServiceAccount
// tokens from TokenRequest (`kubectl create token`), `kubectl auth whoami` and `auth can-i`, and
// the 401 and 403 answers with kube-apiserver's texts (responsewriters.Forbidden's
// forbiddenMessage wrapped in apierrors.NewForbidden), which kubectl prints as
// `Error from server (Forbidden): ...`. The Python client's view is test/python/test_rbac.py.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { request } from "../lab/apiserver/client.ts";
import { startApiServer, type ApiServer } from "../lab/apiserver/index.ts";
import { KUBECTL, kubectlWith } from "./kubectl-run.ts";

const missing = existsSync(KUBECTL) ? false : `kubectl is not installed at ${KUBECTL}`;

let api: ApiServer;
let dir: string;
const kubectl = kubectlWith(
  () => api.kubeconfigPath,
  () => dir,
);
const must = async (...args: string[]) => {
  const r = await kubectl(...args);
  assert.equal(r.code, 0, `kubectl ${args.join(" ")}: ${r.stderr}`);
  return r.stdout.trim();
};
const USER = "system:serviceaccount:default:bot";
let token = "";
const as = (...args: string[]) => kubectl("--token", token, ...args);
/** kubectl apply (or replace) -f - with YAML on stdin */
const kubectlIn = (yaml: string, verb = "apply") =>
  new Promise<{ code: number; stderr: string }>((resolve) => {
    const child = execFile(
      KUBECTL,
      ["--kubeconfig", api.kubeconfigPath, "--cache-dir", join(dir, "cache"), verb, "-f", "-"],
      (err, _out, stderr) => resolve({ code: err === null ? 0 : 1, stderr }),
    );
    child.stdin?.end(yaml);
  });
const can = async (...args: string[]) => (await as("auth", "can-i", ...args)).stdout.trim();
const raw = (method: string, path: string, body?: unknown, t = token) =>
  request(api, method, path, { token: t, ...(body !== undefined ? { body } : {}) });

describe("RBAC in the lab API server", { skip: missing }, () => {
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "apiserver-rbac-"));
    api = await startApiServer();
    await must("create", "serviceaccount", "bot");
    token = await must("create", "token", "bot");
  });
  after(async () => {
    await api?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it("kubectl create token mints a ServiceAccount token: its identity and groups as the real authenticator gives them", async () => {
    const claims = JSON.parse(Buffer.from(token.split(".")[1] ?? "", "base64url").toString()) as {
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
    await request(api, "POST", "/apis/rbac.authorization.k8s.io/v1/clusterroles", {
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

  it("impersonation: kubectl --as needs the impersonate verb, then the request runs as that user", async () => {
    // the admin may impersonate (cluster-admin's "*"); bot is bound to "reader" in default by now
    assert.equal((await kubectl("auth", "can-i", "list", "services", `--as=${USER}`)).stdout.trim(), "yes");
    assert.equal((await kubectl("auth", "can-i", "list", "pods", `--as=${USER}`)).stdout.trim(), "no");
    const who = await must("auth", "whoami", `--as=${USER}`, "-o", "jsonpath={.status.userInfo.groups}");
    assert.equal(who, '["system:serviceaccounts","system:serviceaccounts:default","system:authenticated"]');
    const grouped = await must(
      "auth",
      "whoami",
      "--as=jane",
      "--as-group=devs",
      "-o",
      "jsonpath={.status.userInfo}",
    );
    assert.deepEqual(JSON.parse(grouped), { username: "jane", groups: ["devs", "system:authenticated"] });
    // bot may not impersonate anyone
    const r = await as("get", "services", "--as=jane");
    assert.equal(
      r.stderr.trim(),
      `Error from server (Forbidden): users "jane" is forbidden: User "${USER}" cannot impersonate resource "users" in API group "" at the cluster scope`,
    );
    const sa = await as("get", "services", "--as=system:serviceaccount:kube-system:other");
    assert.match(
      sa.stderr,
      /serviceaccounts "other" is forbidden: User "system:serviceaccount:default:bot" cannot impersonate resource "serviceaccounts" in API group "" in the namespace "kube-system"/,
    );
  });

  it("RBAC objects are validated as the real registry does: roleRef kinds and immutability, subjects, rules", async () => {
    await must("create", "rolebinding", "fixed", "--role=r", "--serviceaccount=default:bot");
    const binding = (kind: string) => `apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: fixed}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ${kind}, name: r}
subjects: [{kind: ServiceAccount, name: bot}]
`;
    const changed = await kubectlIn(binding("ClusterRole"), "replace");
    assert.equal(
      changed.stderr.trim(),
      'The RoleBinding "fixed" is invalid: roleRef: Invalid value: rbac.RoleRef{APIGroup:"rbac.authorization.k8s.io", Kind:"ClusterRole", Name:"r"}: cannot change roleRef',
    );
    const crb = await kubectlIn(`apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: crb}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: r}
subjects: [{kind: ServiceAccount, name: bot}, {kind: Robot, name: x}]
`);
    assert.equal(
      crb.stderr.trim(),
      [
        'The ClusterRoleBinding "crb" is invalid: ',
        '* roleRef.kind: Unsupported value: "Role": supported values: "ClusterRole"',
        "* subjects[0].namespace: Required value",
        '* subjects[1].kind: Unsupported value: "Robot": supported values: "ServiceAccount", "User", "Group"',
      ].join("\n"),
    );
    const role = await kubectlIn(`apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: bad}
rules: [{verbs: [get], nonResourceURLs: ["/x"]}, {verbs: []}]
`);
    assert.equal(
      role.stderr.trim(),
      [
        'The Role "bad" is invalid: ',
        '* rules[0].nonResourceURLs: Invalid value: []string{"/x"}: namespaced rules cannot apply to non-resource URLs',
        "* rules[1].verbs: Required value: verbs must contain at least one value",
        "* rules[1].apiGroups: Required value: resource rules must supply at least one api group",
        "* rules[1].resources: Required value: resource rules must supply at least one resource",
      ].join("\n"),
    );
    // names are path segments, not DNS names: the bootstrap roles' colons are fine
    await must("create", "clusterrole", "example:reader", "--verb=get", "--resource=pods");
  });

  it("escalation prevention: a role or binding may grant only what its writer holds, unless escalate or bind", async () => {
    await must("create", "namespace", "deleg");
    await must(
      "create",
      "role",
      "rbac-writer",
      "-n",
      "deleg",
      "--verb=create,update,patch,get",
      "--resource=roles.rbac.authorization.k8s.io,rolebindings.rbac.authorization.k8s.io,pods",
    );
    await must(
      "create",
      "rolebinding",
      "rbac-writer",
      "-n",
      "deleg",
      "--role=rbac-writer",
      "--serviceaccount=default:bot",
    );
    // what bot holds itself: fine
    assert.equal(
      (await as("create", "role", "pods", "-n", "deleg", "--verb=get", "--resource=pods")).code,
      0,
    );
    const more = await as(
      "create",
      "role",
      "secrets",
      "-n",
      "deleg",
      "--verb=get,list",
      "--resource=secrets",
    );
    assert.equal(
      more.stderr.trim(),
      `Error from server (Forbidden): roles.rbac.authorization.k8s.io "secrets" is forbidden: user "${USER}" (groups=["system:serviceaccounts" "system:serviceaccounts:default" "system:authenticated"]) is attempting to grant RBAC permissions not currently held:\n{APIGroups:[""], Resources:["secrets"], Verbs:["get" "list"]}`,
    );
    const admin = await as(
      "create",
      "rolebinding",
      "root",
      "-n",
      "deleg",
      "--clusterrole=cluster-admin",
      "--user=eve",
    );
    assert.match(
      admin.stderr.trim(),
      /rolebindings.rbac.authorization.k8s.io "root" is forbidden: user .* is attempting to grant RBAC permissions not currently held:\n\{APIGroups:\["\*"\], Resources:\["\*"\], Verbs:\["\*"\]\}\n\{NonResourceURLs:\["\*"\], Verbs:\["\*"\]\}$/,
    );
    // bind on that one ClusterRole, escalate on roles: then both go through
    await must(
      "create",
      "role",
      "delegate",
      "-n",
      "deleg",
      "--verb=bind",
      "--resource=clusterroles",
      "--resource-name=cluster-admin",
    );
    await must("create", "role", "escalate", "-n", "deleg", "--verb=escalate", "--resource=roles");
    for (const r of ["delegate", "escalate"])
      await must("create", "rolebinding", r, "-n", "deleg", `--role=${r}`, "--serviceaccount=default:bot");
    assert.equal(
      (await as("create", "rolebinding", "root", "-n", "deleg", "--clusterrole=cluster-admin", "--user=eve"))
        .code,
      0,
    );
    assert.equal(
      (await as("create", "role", "secrets", "-n", "deleg", "--verb=get,list", "--resource=secrets")).code,
      0,
    );
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
