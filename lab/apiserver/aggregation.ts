// ClusterRole aggregation, kube-controller-manager's clusterrole-aggregation controller
// (pkg/controller/clusterroleaggregation) run inside the stand-in: a ClusterRole with an
// aggregationRule gets as its rules those of every other ClusterRole its clusterRoleSelectors
// match — selector by selector, the matching roles by name, each rule once — written whenever
// a ClusterRole changes and the rules differ. As the real controller it works after the write
// that changed a source, not within it, so clients see the rules arrive (a watch sees the
// update); chains (an aggregated role that is itself a source) settle pass by pass.
import { isDeepStrictEqual } from "node:util";
import type { Rule } from "./rbac.ts";
import { findResource } from "./resources.ts";
import { matchesLabelSelector, type LabelSelector } from "./selectors.ts";
import type { Obj, Store } from "./store.ts";

const CLUSTER_ROLES = findResource("rbac.authorization.k8s.io", "v1", "clusterroles");

/** equality.Semantic: an empty list is the same as none. */
function semantic(rule: Rule): Rule {
  const kept: Rule = {};
  for (const [k, v] of Object.entries(rule) as [keyof Rule, string[] | undefined][])
    if (v !== undefined && v.length > 0) kept[k] = v;
  return kept;
}

const selectorsOf = (role: Readonly<Obj>) =>
  (role.aggregationRule as { clusterRoleSelectors?: LabelSelector[] } | undefined)?.clusterRoleSelectors;

/** The rules the aggregation rule of `role` gives it, from `roles`. */
export function aggregatedRules(role: Readonly<Obj>, roles: readonly Readonly<Obj>[]): Rule[] {
  const rules: Rule[] = [];
  const byName = [...roles].sort((a, b) => ((a.metadata.name ?? "") < (b.metadata.name ?? "") ? -1 : 1));
  for (const selector of selectorsOf(role) ?? []) {
    for (const source of byName) {
      if (source.metadata.name === role.metadata.name) continue;
      if (!matchesLabelSelector(selector ?? {}, source.metadata.labels ?? {})) continue;
      for (const rule of (source.rules ?? []) as Rule[])
        if (!rules.some((r) => isDeepStrictEqual(semantic(r), semantic(rule)))) rules.push(rule);
    }
  }
  return rules;
}

function sync(store: Store): void {
  if (CLUSTER_ROLES === undefined) return;
  const roles = store.list(CLUSTER_ROLES);
  for (const role of roles) {
    if (selectorsOf(role) === undefined) continue;
    const rules = aggregatedRules(role, roles);
    const current = ((role.rules ?? []) as Rule[]).map(semantic);
    if (isDeepStrictEqual(rules.map(semantic), current)) continue;
    store.put(CLUSTER_ROLES, { ...role, rules: structuredClone(rules) }, { handedOver: true });
  }
}

/** Runs the controller on `store` until the returned function is called. */
export function attachAggregation(store: Store): () => void {
  let queued: NodeJS.Immediate | undefined;
  const unsubscribe = store.subscribe((e) => {
    if (e.res !== CLUSTER_ROLES || queued !== undefined) return;
    // one pass for a burst of writes, after them (the controller's work queue)
    queued = setImmediate(() => {
      queued = undefined;
      sync(store);
    });
  });
  return () => {
    unsubscribe();
    if (queued !== undefined) clearImmediate(queued);
  };
}
