// The RBAC kinds' v1 defaults and validation (k8s.io/kubernetes pkg/apis/rbac/v1 defaults.go and
// rbac/validation), with the real texts: rules need verbs, resource rules apiGroups and
// resources, only ClusterRoles may name non-resource URLs; a binding's roleRef names a Role or
// ClusterRole of rbac.authorization.k8s.io and cannot change once written; subjects are
// ServiceAccounts (apiGroup "", a namespace in a ClusterRoleBinding), Users or Groups.
import type { FieldError } from "./status.ts";
import type { Obj } from "./store.ts";
import { invalidValue, nameErrors, notSupported, required } from "./validation.ts";

const GROUP = "rbac.authorization.k8s.io";
type Any = Record<string, unknown>;
const arr = (v: unknown): Any[] => (Array.isArray(v) ? (v as Any[]) : []);
const strs = (v: unknown): string[] => (Array.isArray(v) ? (v as string[]) : []);

/** SetDefaults_RoleBinding / _ClusterRoleBinding / _Subject */
export function defaultRbac(kind: string, obj: Obj): void {
  if (kind !== "RoleBinding" && kind !== "ClusterRoleBinding") return;
  const ref = (obj.roleRef ??= {}) as Any;
  if (ref.apiGroup === undefined || ref.apiGroup === "") ref.apiGroup = GROUP;
  for (const s of arr(obj.subjects))
    if ((s.apiGroup === undefined || s.apiGroup === "") && (s.kind === "User" || s.kind === "Group"))
      s.apiGroup = GROUP;
}

function ruleErrors(rule: Any, namespaced: boolean, f: string): FieldError[] {
  const out: FieldError[] = [];
  if (strs(rule.verbs).length === 0)
    out.push(required(`${f}.verbs`, "verbs must contain at least one value"));
  const urls = strs(rule.nonResourceURLs);
  if (urls.length > 0) {
    if (namespaced)
      out.push(
        invalidValue(`${f}.nonResourceURLs`, urls, "namespaced rules cannot apply to non-resource URLs"),
      );
    if ([rule.apiGroups, rule.resources, rule.resourceNames].some((l) => strs(l).length > 0))
      out.push(
        invalidValue(
          `${f}.nonResourceURLs`,
          urls,
          "rules cannot apply to both regular resources and non-resource URLs",
        ),
      );
    return out;
  }
  if (strs(rule.apiGroups).length === 0)
    out.push(required(`${f}.apiGroups`, "resource rules must supply at least one api group"));
  if (strs(rule.resources).length === 0)
    out.push(required(`${f}.resources`, "resource rules must supply at least one resource"));
  return out;
}

function subjectErrors(s: Any, namespaced: boolean, f: string): FieldError[] {
  const out: FieldError[] = [];
  const name = typeof s.name === "string" ? s.name : "";
  if (name === "") out.push(required(`${f}.name`));
  switch (s.kind) {
    case "ServiceAccount":
      if (name !== "") out.push(...nameErrors(name, "subdomain", `${f}.name`));
      if (typeof s.apiGroup === "string" && s.apiGroup !== "")
        out.push(notSupported(`${f}.apiGroup`, s.apiGroup, [""]));
      if (!namespaced && (typeof s.namespace !== "string" || s.namespace === ""))
        out.push(required(`${f}.namespace`));
      break;
    case "User":
    case "Group":
      if (s.apiGroup !== GROUP) out.push(notSupported(`${f}.apiGroup`, s.apiGroup ?? "", [GROUP]));
      break;
    default:
      out.push(notSupported(`${f}.kind`, s.kind ?? "", ["ServiceAccount", "User", "Group"]));
  }
  return out;
}

/** Go's %#v of the internal rbac.RoleRef, as the "cannot change roleRef" error prints it. */
const roleRefValue = (r: Any) =>
  `rbac.RoleRef{APIGroup:${JSON.stringify(r.apiGroup ?? "")}, Kind:${JSON.stringify(r.kind ?? "")}, Name:${JSON.stringify(r.name ?? "")}}`;

export function validateRbac(kind: string, obj: Obj, old: Obj | undefined): FieldError[] {
  if (kind === "Role" || kind === "ClusterRole") {
    const out = arr(obj.rules).flatMap((r, i) => ruleErrors(r, kind === "Role", `rules[${i}]`));
    // an aggregationRule needs a selector (the selectors' own syntax is not checked here)
    const aggregation = obj.aggregationRule as { clusterRoleSelectors?: unknown } | undefined | null;
    if (kind === "ClusterRole" && aggregation && arr(aggregation.clusterRoleSelectors).length === 0)
      out.push(
        required(
          "aggregationRule.clusterRoleSelectors",
          "at least one clusterRoleSelector required if aggregationRule is non-nil",
        ),
      );
    return out;
  }
  if (kind !== "RoleBinding" && kind !== "ClusterRoleBinding") return [];
  const namespaced = kind === "RoleBinding";
  const ref = (obj.roleRef ?? {}) as Any;
  const out: FieldError[] = [];
  if (ref.apiGroup !== GROUP) out.push(notSupported("roleRef.apiGroup", ref.apiGroup ?? "", [GROUP]));
  const kinds = namespaced ? ["Role", "ClusterRole"] : ["ClusterRole"];
  if (!kinds.includes(ref.kind as string)) out.push(notSupported("roleRef.kind", ref.kind ?? "", kinds));
  if (typeof ref.name !== "string" || ref.name === "") out.push(required("roleRef.name"));
  else out.push(...nameErrors(ref.name, "path", "roleRef.name"));
  arr(obj.subjects).forEach((s, i) => out.push(...subjectErrors(s, namespaced, `subjects[${i}]`)));
  if (old !== undefined) {
    const was = (old.roleRef ?? {}) as Any;
    if (["apiGroup", "kind", "name"].some((k) => was[k] !== ref[k]))
      out.push({
        field: "roleRef",
        type: "FieldValueInvalid",
        detail: `Invalid value: ${roleRefValue(ref)}: cannot change roleRef`,
      });
  }
  return out;
}
