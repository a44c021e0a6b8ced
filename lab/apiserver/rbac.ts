// The RBAC authorizer (plugin/pkg/auth/authorizer/rbac): a request is allowed when a rule of a
// role bound to the user allows it, ClusterRoleBindings first, then the RoleBindings of the
// request's namespace; the first match wins and names itself in the reason. The group
// system:masters is allowed everything before RBAC is asked, as kube-apiserver's privileged-group
// authorizer does. Nothing denies explicitly: no match is "no opinion", answered 403.
import type { RequestAttributes } from "./request-info.ts";
import { findResource, type Resource } from "./resources.ts";
import type { Obj, Store } from "./store.ts";

export interface UserInfo {
  username: string;
  uid?: string;
  groups: string[];
}

export interface Decision {
  allowed: boolean;
  /** "RBAC: allowed by ..." when allowed; why roles could not be read otherwise; often "" */
  reason: string;
}

export interface Rule {
  verbs?: string[];
  apiGroups?: string[];
  resources?: string[];
  resourceNames?: string[];
  nonResourceURLs?: string[];
}
interface Subject {
  kind?: string;
  name?: string;
  namespace?: string;
}
export interface RoleRef {
  kind?: string;
  name?: string;
}

const RBAC = "rbac.authorization.k8s.io";

/** The group allowed everything before RBAC is asked (and exempt from escalation checks). */
export const SYSTEM_MASTERS = "system:masters";
export const privileged = (user: UserInfo): boolean => user.groups.includes(SYSTEM_MASTERS);

const kinds = (plural: string): Resource => {
  const r = findResource(RBAC, "v1", plural);
  if (r === undefined) throw new Error(`no ${plural} resource`);
  return r;
};

const has = (list: string[] | undefined, v: string) => list?.includes(v) === true;
const anyOf = (list: string[] | undefined, v: string) => has(list, "*") || has(list, v);

/** ResourceMatches: "*", "resource", "resource/subresource", or "*\/subresource". */
function resourceMatches(rule: Rule, combined: string, subresource: string): boolean {
  return (rule.resources ?? []).some(
    (r) => r === "*" || r === combined || (subresource !== "" && r === `*/${subresource}`),
  );
}

function urlMatches(rule: Rule, path: string): boolean {
  return (rule.nonResourceURLs ?? []).some(
    (u) => u === "*" || u === path || (u.endsWith("*") && path.startsWith(u.replace(/\*+$/, ""))),
  );
}

export function ruleAllows(a: RequestAttributes, rule: Rule): boolean {
  if (!anyOf(rule.verbs, a.verb)) return false;
  if (!a.resourceRequest) return urlMatches(rule, a.path);
  const combined = a.subresource === "" ? a.resource : `${a.resource}/${a.subresource}`;
  return (
    anyOf(rule.apiGroups, a.apiGroup) &&
    resourceMatches(rule, combined, a.subresource) &&
    ((rule.resourceNames ?? []).length === 0 || has(rule.resourceNames, a.name))
  );
}

/** appliesToUser; a ServiceAccount subject without a namespace means the binding's. */
function applies(user: UserInfo, s: Subject, bindingNamespace: string): boolean {
  switch (s.kind) {
    case "User":
      return s.name === user.username;
    case "Group":
      return has(user.groups, s.name ?? "");
    case "ServiceAccount": {
      const ns = s.namespace !== undefined && s.namespace !== "" ? s.namespace : bindingNamespace;
      return ns !== "" && user.username === `system:serviceaccount:${ns}:${s.name ?? ""}`;
    }
  }
  return false;
}

function describeSubject(s: Subject, bindingNamespace: string): string {
  if (s.kind === "ServiceAccount")
    return `ServiceAccount ${JSON.stringify(`${s.name ?? ""}/${s.namespace || bindingNamespace}`)}`;
  return `${s.kind ?? ""} ${JSON.stringify(s.name ?? "")}`;
}

const rulesIn = (role: Readonly<Obj>) => (Array.isArray(role.rules) ? (role.rules as Rule[]) : []);

/**
 * The rules of the Role (in `namespace`) or ClusterRole `ref` names, read in place (Store.look),
 * not copied: this runs for every request, so the caller must neither keep nor change them
 * (authorize and the escalation checks only read them; rulesFor copies before it keeps them).
 * undefined when there is no such role; `ref` must name one of the two kinds.
 */
export function roleRules(
  store: Store,
  ref: RoleRef & { kind: "Role" | "ClusterRole" },
  namespace: string,
): Rule[] | undefined {
  const cluster = ref.kind === "ClusterRole";
  return store.look(
    kinds(cluster ? "clusterroles" : "roles"),
    cluster ? undefined : namespace,
    ref.name ?? "",
    rulesIn,
  );
}

/** Whether `ref` names a Role or a ClusterRole (a binding's only two). */
export const namesRole = (ref: RoleRef): ref is RoleRef & { kind: "Role" | "ClusterRole" } =>
  ref.kind === "Role" || ref.kind === "ClusterRole";

/** The rules a roleRef names, or the lister's NotFound text (which becomes the 403's reason). */
function rulesOf(store: Store, ref: RoleRef, bindingNamespace: string): Rule[] | string {
  if (!namesRole(ref)) return `unsupported role reference kind: ${JSON.stringify(ref.kind ?? "")}`;
  return (
    roleRules(store, ref, bindingNamespace) ??
    `${ref.kind.toLowerCase()}.${RBAC} ${JSON.stringify(ref.name ?? "")} not found`
  );
}

/** One binding that applies to the user: its role's rules and how the reason names it, or why they could not be read. */
type Visit = { rules: Rule[]; source: string } | { error: string };

/** VisitRulesFor: the ClusterRoleBindings, then the RoleBindings of `namespace`, that name the user. */
function* visits(store: Store, user: UserInfo, namespace: string): Generator<Visit> {
  // Only the bindings naming the user are copied out of the store (list's filter sees them in place).
  const names = (ns: string) => (b: Readonly<Obj>) =>
    ((b.subjects ?? []) as Subject[]).some((s) => applies(user, s, ns));
  const bindings: { b: Obj; ns: string; kind: string }[] = [
    ...store
      .list(kinds("clusterrolebindings"), undefined, names(""))
      .map((b) => ({ b, ns: "", kind: "ClusterRoleBinding" })),
    ...(namespace === ""
      ? []
      : store
          .list(kinds("rolebindings"), namespace, names(namespace))
          .map((b) => ({ b, ns: namespace, kind: "RoleBinding" }))),
  ];
  for (const { b, ns, kind } of bindings) {
    const subject = ((b.subjects ?? []) as Subject[]).find((s) => applies(user, s, ns));
    if (subject === undefined) continue;
    const ref = (b.roleRef ?? {}) as RoleRef;
    const rules = rulesOf(store, ref, ns);
    if (typeof rules === "string") {
      yield { error: rules };
      continue;
    }
    const name = kind === "RoleBinding" ? `${b.metadata.name ?? ""}/${ns}` : (b.metadata.name ?? "");
    const source = `${kind} ${JSON.stringify(name)} of ${ref.kind ?? ""} ${JSON.stringify(ref.name ?? "")} to ${describeSubject(subject, ns)}`;
    yield { rules, source };
  }
}

/** utilerrors.NewAggregate: one error is its own text, several are listed in brackets */
const aggregate = (errors: string[]) => (errors.length === 1 ? (errors[0] ?? "") : `[${errors.join(", ")}]`);

export function authorize(store: Store, user: UserInfo, a: RequestAttributes): Decision {
  if (privileged(user)) return { allowed: true, reason: "" };
  const errors: string[] = [];
  for (const v of visits(store, user, a.namespace)) {
    if ("error" in v) errors.push(v.error);
    else if (v.rules.some((r) => ruleAllows(a, r)))
      return { allowed: true, reason: `RBAC: allowed by ${v.source}` };
  }
  return { allowed: false, reason: errors.length === 0 ? "" : `RBAC: ${aggregate(errors)}` };
}

/**
 * RulesFor (SelfSubjectRulesReview, `kubectl auth can-i --list`): every rule bound to the user in
 * the namespace; system:masters has "*" first, as the privileged-group authorizer reports it.
 */
export function rulesFor(store: Store, user: UserInfo, namespace: string): { rules: Rule[]; error: string } {
  const rules: Rule[] = privileged(user)
    ? [
        { verbs: ["*"], apiGroups: ["*"], resources: ["*"] },
        { verbs: ["*"], nonResourceURLs: ["*"] },
      ]
    : [];
  const errors: string[] = [];
  for (const v of visits(store, user, namespace)) {
    if ("error" in v) errors.push(v.error);
    else rules.push(...structuredClone(v.rules)); // the answer's own copy: v.rules are the store's
  }
  return { rules, error: errors.length === 0 ? "" : aggregate(errors) };
}

/** responsewriters.forbiddenMessage */
export function forbiddenMessage(user: UserInfo, a: RequestAttributes): string {
  const who = `User ${JSON.stringify(user.username)}`;
  if (!a.resourceRequest) return `${who} cannot ${a.verb} path ${JSON.stringify(a.path)}`;
  const resource = a.subresource === "" ? a.resource : `${a.resource}/${a.subresource}`;
  const what = `${who} cannot ${a.verb} resource ${JSON.stringify(resource)} in API group ${JSON.stringify(a.apiGroup)}`;
  return a.namespace === ""
    ? `${what} at the cluster scope`
    : `${what} in the namespace ${JSON.stringify(a.namespace)}`;
}
