// ClusterRole aggregation, as kube-controller-manager's clusterrole-aggregation controller does
// it: a ClusterRole with an aggregationRule gets as its rules those of every other ClusterRole
// its clusterRoleSelectors match (by name, each rule once), kept up to date as they come, change
// and go, and RBAC authorizes with them. Driven by the real kubectl (the upstream docs' example:
// a "monitoring" role filled from roles labelled aggregate-to-monitoring); the controller works
// after the write, so the test waits for its answer with a deadline.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { missing, rbacWorld } from "./rbac-fixture.ts";
import { until } from "./until.ts";

const w = rbacWorld();
const { must, kubectlIn, can } = w;

const LABEL = "rbac.example.com/aggregate-to-monitoring";
const source = (
  name: string,
  resources: string,
  verbs = "[get, list, watch]",
) => `apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata:
  name: ${name}
  labels: { ${LABEL}: "true" }
rules:
  - { apiGroups: [""], resources: ${resources}, verbs: ${verbs} }
`;
const rulesOf = async (name: string) =>
  JSON.parse((await must("get", "clusterrole", name, "-o", "jsonpath={.rules}")) || "null") as unknown;

describe("ClusterRole aggregationRule", { skip: missing }, () => {
  before(() => w.start());
  after(() => w.stop());

  it("fills the rules from the ClusterRoles its selectors match, and follows them", async () => {
    const applied = await kubectlIn(`apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: { name: monitoring }
aggregationRule:
  clusterRoleSelectors:
    - matchLabels: { ${LABEL}: "true" }
rules: []
`);
    assert.equal(applied.code, 0, applied.stderr);
    await must(
      "create",
      "clusterrolebinding",
      "monitoring",
      "--clusterrole=monitoring",
      "--serviceaccount=default:bot",
    );
    assert.equal(await can("list", "services"), "no");

    assert.equal((await kubectlIn(source("monitoring-endpoints", "[services, endpoints]"))).code, 0);
    // a second source repeating a rule: each rule once, the sources in name order
    assert.equal((await kubectlIn(source("monitoring-pods", "[pods]"))).code, 0);
    assert.equal((await kubectlIn(source("monitoring-same", "[services, endpoints]"))).code, 0);
    const want = [
      { apiGroups: [""], resources: ["services", "endpoints"], verbs: ["get", "list", "watch"] },
      { apiGroups: [""], resources: ["pods"], verbs: ["get", "list", "watch"] },
    ];
    await until("monitoring's aggregated rules", async () => {
      assert.deepEqual(await rulesOf("monitoring"), want);
      return true;
    });
    assert.equal(await can("list", "services"), "yes");
    assert.equal(await can("watch", "pods"), "yes");
    assert.equal(await can("delete", "pods"), "no");

    // a source changed and two gone: the rules follow
    assert.equal((await kubectlIn(source("monitoring-pods", "[pods]", "[get]"))).code, 0);
    await must("delete", "clusterrole", "monitoring-endpoints", "monitoring-same");
    await until("monitoring's rules after its sources changed", async () => {
      assert.deepEqual(await rulesOf("monitoring"), [
        { apiGroups: [""], resources: ["pods"], verbs: ["get"] },
      ]);
      return true;
    });
    assert.equal(await can("list", "services"), "no");
    assert.equal(await can("get", "pods"), "yes");
  });

  it("an aggregationRule without a selector is invalid", async () => {
    const r = await kubectlIn(`apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: { name: nothing }
aggregationRule: { clusterRoleSelectors: [] }
`);
    assert.equal(
      r.stderr.trim(),
      'The ClusterRole "nothing" is invalid: aggregationRule.clusterRoleSelectors: Required value: at least one clusterRoleSelector required if aggregationRule is non-nil',
    );
  });
});
