// ValidatingAdmissionPolicy + ValidatingAdmissionPolicyBinding (admissionregistration.k8s.io/v1)
// as k8s.io/apiserver's policy/validating dispatcher and validator evaluate them: policies and
// their bindings matched by matchConstraints / matchResources, matchConditions, lazily computed
// variables, validations with message, messageExpression and reason, failurePolicy for errors,
// and the binding's validationActions: Deny refuses with the first denial's text, Warn adds a
// Warning, Audit is accepted and ignored (the stand-in keeps no audit log). paramKind/paramRef
// are not supported: a policy with a paramKind is a configuration error under its failurePolicy.
import type { Attributes } from "./admission.ts";
import { activation, evaluate, type Variable } from "./cel.ts";
import { matchConditions, type MatchCondition } from "./cel-conditions.ts";
import { namedRuleMatches, namespaceOf, selectorsMatch, type Rule, type Selectors } from "./policy-match.ts";
import { admissionConfigs } from "./admission-configs.ts";
import { qualifiedName } from "./resources.ts";
import { failure, type StatusError } from "./status.ts";
import type { Store } from "./store.ts";

interface MatchResources extends Selectors {
  resourceRules?: Rule[];
  excludeResourceRules?: Rule[];
}
interface Validation {
  expression: string;
  message?: string;
  messageExpression?: string;
  reason?: string;
}
interface PolicySpec {
  failurePolicy?: string;
  paramKind?: unknown;
  matchConstraints?: MatchResources;
  matchConditions?: MatchCondition[];
  variables?: Variable[];
  validations?: Validation[];
}
interface BindingSpec {
  policyName?: string;
  validationActions?: string[];
  matchResources?: MatchResources;
}
interface Decision {
  deny: boolean;
  message: string;
  reason?: string;
}

/** celconfig.MaxEvaluatedMessageExpressionSizeBytes */
const MAX_MESSAGE = 5 * 1024;

function matchesResources(m: MatchResources | undefined, a: Attributes, store: Store): boolean {
  if (m === undefined) return true;
  if (!selectorsMatch(m, a, store)) return false;
  if ((m.excludeResourceRules ?? []).some((r) => namedRuleMatches(r, a))) return false;
  const rules = m.resourceRules ?? [];
  return rules.length === 0 || rules.some((r) => namedRuleMatches(r, a));
}

function messageOf(v: Validation, act: Record<string, unknown>): string {
  if (v.messageExpression !== undefined) {
    const r = evaluate(v.messageExpression, act);
    if ("value" in r && typeof r.value === "string") {
      const m = r.value.trim();
      if (m !== "" && m.length <= MAX_MESSAGE && !m.includes("\n")) return m;
    }
  }
  const m = (v.message ?? "").trim();
  return m !== "" ? m : `failed expression: ${v.expression.trim()}`;
}

/** Validator.Validate: one decision per validation (or one for a matchCondition error). */
function decide(spec: PolicySpec, a: Attributes, store: Store): Decision[] {
  const onError = (message: string): Decision[] =>
    spec.failurePolicy === "Ignore" ? [] : [{ deny: true, message }];
  const act = activation(a, {
    variables: spec.variables ?? [],
    namespaceObject: namespaceOf(a, store) ?? null,
  });
  const matched = matchConditions(spec.matchConditions, spec.failurePolicy, act);
  if ("error" in matched) return onError(matched.error);
  if (!matched.matches) return [];
  return (spec.validations ?? []).flatMap((v): Decision[] => {
    const r = evaluate(v.expression, act);
    if ("error" in r) return onError(r.error);
    if (r.value === true) return [];
    return [{ deny: true, message: messageOf(v, act), reason: v.reason ?? "Invalid" }];
  });
}

const CODES: Record<string, number> = { Forbidden: 403, Unauthorized: 401, RequestEntityTooLarge: 413 };

/** admission.NewForbidden with the decision's reason and code, and the message as a cause. */
function refusal(a: Attributes, message: string, reason: string): StatusError {
  const meta = (a.object ?? a.oldObject)?.metadata;
  const name = a.name || meta?.name || meta?.generateName || "Unknown";
  const details: Record<string, unknown> = { name };
  if (a.res.group !== "") details.group = a.res.group;
  details.kind = a.res.resource;
  details.causes = [{ message }];
  return failure(
    CODES[reason] ?? 422,
    reason,
    `${qualifiedName(a.res)} ${JSON.stringify(name)} is forbidden: ${message}`,
    details,
  );
}

/** Runs every matching policy's bindings; throws the first Deny, appends Warn messages. */
export function validatePolicies(a: Attributes, store: Store, warnings: string[]): void {
  const bindings = admissionConfigs(store, "validatingadmissionpolicybindings");
  let first: StatusError | undefined;
  for (const policy of admissionConfigs(store, "validatingadmissionpolicies")) {
    const p = (policy.spec ?? {}) as PolicySpec;
    const pname = policy.metadata.name ?? "";
    if (!matchesResources(p.matchConstraints ?? {}, a, store)) continue;
    for (const binding of bindings) {
      const b = (binding.spec ?? {}) as BindingSpec;
      if (b.policyName !== pname || !matchesResources(b.matchResources, a, store)) continue;
      const bname = binding.metadata.name ?? "";
      const decisions: Decision[] =
        p.paramKind !== undefined && p.paramKind !== null
          ? p.failurePolicy === "Ignore"
            ? []
            : [
                {
                  deny: true,
                  message: "failed to configure binding: paramKind is not supported by the lab API server",
                },
              ]
          : decide(p, a, store);
      for (const d of decisions) {
        const actions = b.validationActions ?? [];
        if (actions.includes("Warn"))
          warnings.push(
            `Validation failed for ValidatingAdmissionPolicy '${pname}' with binding '${bname}': ${d.message}`,
          );
        if (actions.includes("Deny"))
          first ??= refusal(
            a,
            `ValidatingAdmissionPolicy '${pname}' with binding '${bname}' denied request: ${d.message}`,
            d.reason ?? "Invalid",
          );
      }
    }
  }
  if (first !== undefined) throw first;
}
