// Admission webhooks as kube-apiserver dispatches them: mutating configurations sorted by name,
// their webhooks in order, serially, each JSON patch applied before the next call; validating
// webhooks in parallel, the first failure wins. Matching by rules, scope, namespaceSelector and
// objectSelector, then matchConditions (CEL); failurePolicy, timeoutSeconds, sideEffects with
// dry-run and the real texts. ValidatingAdmissionPolicies (policy.ts) run before validating webhooks.
import { randomUUID } from "node:crypto";
import fastJsonPatch, { type Operation } from "fast-json-patch";
import { activation } from "./cel.ts";
import { matchConditions, type MatchCondition } from "./cel-conditions.ts";
import { validatePolicies } from "./policy.ts";
import { ruleMatches, selectorsMatch, type Rule, type Selectors } from "./policy-match.ts";
import { qualifiedName, type Resource } from "./resources.ts";
import { admissionConfigs } from "./admission-configs.ts";
import { badRequest, failure, internalError, StatusError } from "./status.ts";
import type { Obj, Store } from "./store.ts";
import { callWebhook, verifyResponse, type ClientConfig, type ServiceResolver } from "./webhook-call.ts";

export interface Attributes {
  operation: "CREATE" | "UPDATE" | "DELETE";
  res: Resource;
  subresource: string;
  namespace: string | undefined;
  name: string;
  object: Obj | undefined;
  oldObject: Obj | undefined;
  dryRun: boolean;
  options: Record<string, unknown>;
  userInfo: { username: string; groups: string[] };
}

interface Webhook extends Selectors {
  name: string;
  clientConfig: ClientConfig;
  rules?: Rule[];
  failurePolicy?: string;
  sideEffects?: string;
  timeoutSeconds?: number;
  admissionReviewVersions?: string[];
  matchConditions?: MatchCondition[];
}

function matches(w: Webhook, a: Attributes, store: Store): boolean {
  return (w.rules ?? []).some((r) => ruleMatches(r, a)) && selectorsMatch(w, a, store);
}

/** generic.Webhook.ShouldCallHook's last step: a matchCondition error is Forbidden under Fail. */
function conditionsAllow(w: Webhook, a: Attributes): boolean {
  if ((w.matchConditions ?? []).length === 0) return true;
  const r = matchConditions(w.matchConditions, w.failurePolicy, activation(a));
  if ("matches" in r) return r.matches;
  const what = qualifiedName(a.res);
  const message =
    a.name === "" ? `${what} is forbidden: ${r.error}` : `${what} "${a.name}" is forbidden: ${r.error}`;
  const details: Record<string, unknown> = { name: a.name };
  if (a.res.group !== "") details.group = a.res.group;
  details.kind = a.res.resource;
  throw failure(403, "Forbidden", message, details);
}

function review(
  a: Attributes,
  version: string,
  uid: string,
  object: Obj | undefined,
): Record<string, unknown> {
  const gvk = { group: a.res.group, version: a.res.version, kind: a.res.kind };
  const gvr = { group: a.res.group, version: a.res.version, resource: a.res.resource };
  const request: Record<string, unknown> = { uid, kind: gvk, resource: gvr };
  if (a.subresource !== "") request.subResource = a.subresource;
  Object.assign(request, { requestKind: gvk, requestResource: gvr });
  if (a.subresource !== "") request.requestSubResource = a.subresource;
  if (a.name !== "") request.name = a.name;
  if (a.namespace !== undefined) request.namespace = a.namespace;
  Object.assign(request, {
    operation: a.operation,
    userInfo: a.userInfo,
    object: object ?? null,
    oldObject: a.oldObject ?? null,
    dryRun: a.dryRun,
    options: a.options,
  });
  return { kind: "AdmissionReview", apiVersion: `admission.k8s.io/${version}`, request };
}

/** ToStatusErr: the webhook's own code and reason, with the "denied the request" message. */
function denial(name: string, status: Record<string, unknown> | undefined): StatusError {
  const deniedBy = `admission webhook ${JSON.stringify(name)} denied the request`;
  const msg = typeof status?.message === "string" ? status.message : "";
  const reason = typeof status?.reason === "string" ? status.reason : "";
  const message =
    msg !== ""
      ? `${deniedBy}: ${msg}`
      : reason !== ""
        ? `${deniedBy}: ${reason}`
        : `${deniedBy} without explanation`;
  const code = typeof status?.code === "number" && status.code >= 400 ? status.code : 400;
  const details = status?.details ?? undefined;
  return failure(code, reason, message, details);
}

type Outcome = { skip: true } | { response: Record<string, unknown> };

async function call(
  w: Webhook,
  a: Attributes,
  object: Obj | undefined,
  resolve: ServiceResolver,
  mutating: boolean,
): Promise<Outcome> {
  if (a.dryRun && !["None", "NoneOnDryRun"].includes(w.sideEffects ?? "")) {
    throw badRequest(`admission webhook ${JSON.stringify(w.name)} does not support dry run`);
  }
  const version = (w.admissionReviewVersions ?? []).find((v) => v === "v1" || v === "v1beta1");
  const uid = randomUUID();
  let result: { response: Record<string, unknown> } | { error: string };
  if (version === undefined)
    result = { error: "webhook does not accept known AdmissionReview versions (v1, v1beta1)" };
  else {
    const raw = await callWebhook(
      w.clientConfig,
      w.timeoutSeconds ?? 10,
      review(a, version, uid, object),
      resolve,
    );
    result = "error" in raw ? raw : verifyResponse(raw.response, version, uid, mutating);
  }
  if ("error" in result) {
    if (w.failurePolicy === "Ignore") return { skip: true };
    throw internalError(`failed calling webhook ${JSON.stringify(w.name)}: ${result.error}`);
  }
  return result;
}

/** The configurations' webhooks in order: read from admission-configs.ts's view, never changed. */
function webhooksOf(store: Store, resource: string): Webhook[] {
  return admissionConfigs(store, resource).flatMap((c) =>
    Array.isArray(c.webhooks) ? (c.webhooks as Webhook[]) : [],
  );
}

const exempt = (a: Attributes) => a.res.group === "admissionregistration.k8s.io";

/** Runs the mutating webhooks; returns the (possibly patched) object. Warnings are appended. */
export async function mutate(
  a: Attributes,
  store: Store,
  resolve: ServiceResolver,
  warnings: string[],
): Promise<Obj | undefined> {
  if (exempt(a)) return a.object;
  let object = a.object;
  for (const w of webhooksOf(store, "mutatingwebhookconfigurations")) {
    if (!matches(w, { ...a, object }, store) || !conditionsAllow(w, { ...a, object })) continue;
    const out = await call(w, { ...a, object }, object, resolve, true);
    if ("skip" in out) continue;
    const r = out.response;
    warnings.push(...(Array.isArray(r.warnings) ? r.warnings.map(String) : []));
    if (r.allowed !== true) throw denial(w.name, r.status as Record<string, unknown> | undefined);
    if (typeof r.patch !== "string" || r.patch === "") continue;
    if (object === undefined) {
      throw internalError(
        `admission webhook ${JSON.stringify(w.name)} attempted to modify the object, which is not supported for this operation`,
      );
    }
    try {
      const ops = JSON.parse(Buffer.from(r.patch, "base64").toString("utf8")) as Operation[];
      object = fastJsonPatch.applyPatch(structuredClone(object), ops, true, false).newDocument;
    } catch (e) {
      throw internalError(
        `failed calling webhook ${JSON.stringify(w.name)}: ${(e as Error).message.split("\n")[0] ?? ""}`,
      );
    }
  }
  return object;
}

export async function validateAdmission(
  a: Attributes,
  store: Store,
  resolve: ServiceResolver,
  warnings: string[],
): Promise<void> {
  if (exempt(a)) return;
  // The ValidatingAdmissionPolicy plugin runs before the ValidatingAdmissionWebhook plugin.
  validatePolicies(a, store, warnings);
  const hooks = webhooksOf(store, "validatingwebhookconfigurations").filter((w) => matches(w, a, store));
  const results = await Promise.allSettled(
    hooks.map(async (w) =>
      conditionsAllow(w, a) ? call(w, a, a.object, resolve, false) : { skip: true as const },
    ),
  );
  let first: Error | undefined;
  results.forEach((r, i) => {
    if (r.status === "rejected") {
      first ??= r.reason instanceof Error ? r.reason : new Error(String(r.reason));
      return;
    }
    if ("skip" in r.value) return;
    const resp = r.value.response;
    warnings.push(...(Array.isArray(resp.warnings) ? resp.warnings.map(String) : []));
    if (resp.allowed !== true)
      first ??= denial(hooks[i]?.name ?? "", resp.status as Record<string, unknown> | undefined);
  });
  if (first !== undefined) throw first;
}
