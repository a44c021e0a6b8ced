// RBAC's escalation prevention (pkg/registry/rbac/*/policybased): a Role or ClusterRole may be
// written only by someone who holds every permission in it, or may `escalate` it; a binding only
// by someone who holds every permission of the role it names, or may `bind` that role.
// system:masters is exempt. Otherwise 403, worded as validation.ConfirmNoEscalation words it:
// `roles.rbac.authorization.k8s.io "x" is forbidden: user "u" (groups=["g"]) is attempting to
// grant RBAC permissions not currently held:\n{APIGroups:[""], Resources:["secrets"], Verbs:["get"]}`.
import type { Ctx, Server } from "./http.ts";
import {
  authorize,
  namesRole,
  privileged,
  roleRules,
  rulesFor,
  type RoleRef,
  type Rule,
  type UserInfo,
} from "./rbac.ts";
import { resourceRequest } from "./request-info.ts";
import { findResource } from "./resources.ts";
import { failure, notFound } from "./status.ts";
import type { Obj } from "./store.ts";

const GROUP = "rbac.authorization.k8s.io";
const has = (l: string[] | undefined, v: string) => l?.includes(v) === true;
const hasAll = (l: string[] | undefined, vs: string[] | undefined) => (vs ?? []).every((v) => has(l, v));

/** BreakdownRule: one verb, one group, one resource, one name (or one URL and one verb) each. */
function breakdown(r: Rule): Rule[] {
  const out: Rule[] = [];
  for (const g of r.apiGroups ?? [])
    for (const res of r.resources ?? [])
      for (const v of r.verbs ?? []) {
        const names = r.resourceNames ?? [];
        if (names.length === 0) out.push({ apiGroups: [g], resources: [res], verbs: [v] });
        else
          for (const n of names)
            out.push({ apiGroups: [g], resources: [res], verbs: [v], resourceNames: [n] });
      }
  for (const u of r.nonResourceURLs ?? [])
    for (const v of r.verbs ?? []) out.push({ nonResourceURLs: [u], verbs: [v] });
  return out;
}

const urlCovers = (owner: string, sub: string) =>
  owner === sub || (owner.endsWith("*") && sub.startsWith(owner.replace(/\*+$/, "")));

/** ruleCovers, with resourceCoversAll's "*" and "*\/subresource" */
function covers(owner: Rule, sub: Rule): boolean {
  const verbs = has(owner.verbs, "*") || hasAll(owner.verbs, sub.verbs);
  const groups = has(owner.apiGroups, "*") || hasAll(owner.apiGroups, sub.apiGroups);
  const resources =
    has(owner.resources, "*") ||
    hasAll(owner.resources, sub.resources) ||
    (sub.resources ?? []).every(
      (p) =>
        has(owner.resources, p) ||
        (p.includes("/") && has(owner.resources, `*/${p.split("/").slice(1).join("/")}`)),
    );
  const urls = (sub.nonResourceURLs ?? []).every((p) =>
    (owner.nonResourceURLs ?? []).some((o) => urlCovers(o, p)),
  );
  const names =
    (sub.resourceNames ?? []).length === 0
      ? (owner.resourceNames ?? []).length === 0
      : (owner.resourceNames ?? []).length === 0 || hasAll(owner.resourceNames, sub.resourceNames);
  return verbs && groups && resources && urls && names;
}

const q = (l: string[]) => `[${l.map((s) => JSON.stringify(s)).join(" ")}]`;

/** rbacv1helpers.CompactString */
function compactString(r: Rule): string {
  const parts: string[] = [];
  if ((r.apiGroups ?? []).length > 0) parts.push(`APIGroups:${q(r.apiGroups ?? [])}`);
  if ((r.resources ?? []).length > 0) parts.push(`Resources:${q(r.resources ?? [])}`);
  if ((r.nonResourceURLs ?? []).length > 0) parts.push(`NonResourceURLs:${q(r.nonResourceURLs ?? [])}`);
  if ((r.resourceNames ?? []).length > 0) parts.push(`ResourceNames:${q(r.resourceNames ?? [])}`);
  if ((r.verbs ?? []).length > 0) parts.push(`Verbs:${q(r.verbs ?? [])}`);
  return `{${parts.join(", ")}}`;
}

/** CompactRules: the missing one-verb rules of one group/resource/name joined into one rule. */
function compact(rules: Rule[]): Rule[] {
  const simple = new Map<string, Rule>();
  const out: Rule[] = [];
  for (const r of rules) {
    if ((r.nonResourceURLs ?? []).length > 0) out.push(r);
    else {
      const key = JSON.stringify([r.apiGroups, r.resources, r.resourceNames ?? []]);
      const seen = simple.get(key);
      if (seen === undefined) simple.set(key, { ...r, verbs: [...(r.verbs ?? [])] });
      else seen.verbs?.push(...(r.verbs ?? []));
    }
  }
  return [...out, ...simple.values()];
}

/** ConfirmNoEscalation: undefined when the user holds every rule, the refusal's text otherwise. */
function escalation(
  srv: Server,
  user: UserInfo,
  namespace: string,
  rules: readonly Rule[],
): string | undefined {
  const owner = rulesFor(srv.store, user, namespace);
  const missing = rules.flatMap(breakdown).filter((sub) => !owner.rules.some((o) => covers(o, sub)));
  if (missing.length === 0) return undefined;
  const lines = [...new Set(compact(missing).map(compactString))].sort();
  const groups = q(user.groups);
  const text = `user ${JSON.stringify(user.username)} (groups=${groups}) is attempting to grant RBAC permissions not currently held:\n${lines.join("\n")}`;
  return owner.error === "" ? text : `${text}; resolution errors: [${owner.error}]`;
}

/** IsOnlyMutatingGCFields: an update touching only ownerReferences and finalizers is not checked. */
function onlyGcFields(obj: Obj, old: Obj): boolean {
  const strip = (o: Obj) => {
    const {
      ownerReferences: _o,
      finalizers: _f,
      resourceVersion: _r,
      managedFields: _m,
      ...meta
    } = o.metadata;
    return JSON.stringify({ ...o, metadata: meta });
  };
  return strip(obj) === strip(old);
}

/** Throws the 403 (or the 404 of a binding's missing role) when the write would escalate. */
export function preventEscalation(srv: Server, ctx: Ctx, obj: Obj, old: Obj | undefined): void {
  const kind = ctx.resource.kind;
  if (ctx.resource.group !== GROUP || ctx.subresource !== "") return;
  if (privileged(ctx.user)) return;
  if (old !== undefined && onlyGcFields(obj, old)) return;
  const namespace = ctx.namespace ?? "";
  const name = obj.metadata.name ?? ctx.name ?? "";
  const may = (verb: string, resource: string, n: string) =>
    authorize(
      srv.store,
      ctx.user,
      resourceRequest(verb, { apiGroup: GROUP, apiVersion: "*", namespace, resource, name: n }),
    ).allowed;
  let rules: readonly Rule[];
  if (kind === "Role" || kind === "ClusterRole") {
    if (may("escalate", ctx.resource.resource, ctx.name ?? "")) return;
    rules = Array.isArray(obj.rules) ? (obj.rules as Rule[]) : [];
  } else {
    const ref = (obj.roleRef ?? {}) as RoleRef;
    // another kind is refused by validation (rbac-validation.ts)
    if (!namesRole(ref)) return;
    const plural = ref.kind === "Role" ? "roles" : "clusterroles";
    if (may("bind", plural, ref.name ?? "")) return;
    // read in place, as the authorizer reads them: escalation() only reads them
    const held = roleRules(srv.store, ref, namespace);
    if (held === undefined) throw notFound(findResource(GROUP, "v1", plural) ?? ctx.resource, ref.name ?? "");
    rules = held;
  }
  const why = escalation(srv, ctx.user, namespace, rules);
  if (why === undefined) return;
  throw failure(
    403,
    "Forbidden",
    `${ctx.resource.resource}.${GROUP} ${JSON.stringify(name)} is forbidden: ${why}`,
    {
      name,
      group: GROUP,
      kind: ctx.resource.resource,
    },
  );
}
