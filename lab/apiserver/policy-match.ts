// Which requests a webhook or a ValidatingAdmissionPolicy (and its binding) sees, as
// k8s.io/apiserver's rules.Matcher, namespace.Matcher, object.Matcher and policy/matching do:
// rules by operation, group, version, resource[/subresource] and scope; a policy's resourceNames
// and excludeResourceRules; namespaceSelector on the request's namespace (a Namespace's own
// labels; cluster-scoped objects always match); objectSelector on the old or the new object.
import type { Attributes } from "./admission.ts";
import { findResource } from "./resources.ts";
import { labelsOf, matchesLabelSelector, type LabelSelector } from "./selectors.ts";
import type { Obj, Store } from "./store.ts";

export interface Rule {
  operations?: string[];
  apiGroups?: string[];
  apiVersions?: string[];
  resources?: string[];
  scope?: string;
  /** policies only */
  resourceNames?: string[];
}

export interface Selectors {
  namespaceSelector?: LabelSelector;
  objectSelector?: LabelSelector;
}

const has = (list: string[] | undefined, v: string) => (list ?? []).includes("*") || (list ?? []).includes(v);

function resourceMatches(patterns: string[] | undefined, resource: string, sub: string): boolean {
  const full = sub === "" ? resource : `${resource}/${sub}`;
  return (patterns ?? []).some((p) => {
    if (p === "*/*" || p === full) return true;
    if (p === "*") return sub === "";
    const [pr, ps] = p.split("/");
    return ps !== undefined && (pr === "*" || pr === resource) && (ps === "*" || ps === sub);
  });
}

/** rules.Matcher: one RuleWithOperations against the request (resourceNames not looked at). */
export function ruleMatches(r: Rule, a: Attributes): boolean {
  return (
    has(r.operations, a.operation) &&
    has(r.apiGroups, a.res.group) &&
    has(r.apiVersions, a.res.version) &&
    resourceMatches(r.resources, a.res.resource, a.subresource) &&
    (r.scope === undefined || r.scope === "*" || (r.scope === "Namespaced") === a.res.namespaced)
  );
}

/** policy/matching: a NamedRuleWithOperations, whose resourceNames (if any) must name the object. */
export function namedRuleMatches(r: Rule, a: Attributes): boolean {
  return ruleMatches(r, a) && ((r.resourceNames ?? []).length === 0 || has(r.resourceNames, a.name));
}

/** The request's Namespace object, or undefined (cluster-scoped, a Namespace itself, or missing). */
export function namespaceOf(a: Attributes, store: Store): Obj | undefined {
  if (!a.res.namespaced || a.namespace === undefined) return undefined;
  const nsRes = findResource("", "v1", "namespaces");
  return nsRes === undefined ? undefined : store.get(nsRes, undefined, a.namespace);
}

export function selectorsMatch(s: Selectors, a: Attributes, store: Store): boolean {
  const objs = [a.object, a.oldObject].filter((o): o is Obj => o !== undefined);
  if (a.res.kind === "Namespace") {
    if (!objs.some((o) => matchesLabelSelector(s.namespaceSelector, labelsOf(o)))) return false;
  } else if (a.res.namespaced && a.namespace !== undefined) {
    const ns = namespaceOf(a, store);
    if (!matchesLabelSelector(s.namespaceSelector, ns === undefined ? {} : labelsOf(ns))) return false;
  }
  return objs.some((o) => matchesLabelSelector(s.objectSelector, labelsOf(o)));
}
