// Writing RBAC objects in the lab API server with the real kubectl: the registry's validation
// (roleRef kinds and immutability, subjects, rules) and escalation prevention with their texts,
// and impersonation (`kubectl --as`) authorized as the verb impersonate.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { missing, rbacWorld, USER } from "./rbac-fixture.ts";

const w = rbacWorld();
const { kubectl, must, as, kubectlIn } = w;

describe("RBAC writes and impersonation in the lab API server", { skip: missing }, () => {
  before(async () => {
    await w.start();
    await must("create", "role", "reader", "--verb=get,list,watch", "--resource=services");
    await must("create", "rolebinding", "reader", "--role=reader", "--serviceaccount=default:bot");
  });
  after(() => w.stop());

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
});
