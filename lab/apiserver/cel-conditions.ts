// matchConditions as k8s.io/apiserver's matchconditions.Matcher decides them, for admission
// webhooks and ValidatingAdmissionPolicies alike: any condition false → no match (whatever the
// others' errors); otherwise any error → failurePolicy Fail gives the error (several are
// aggregated "[a, b]"), Ignore gives no match; all true → match.
import { evaluate } from "./cel.ts";

export interface MatchCondition {
  name: string;
  expression: string;
}

export type MatchResult = { matches: boolean } | { error: string };

export function matchConditions(
  conditions: MatchCondition[] | undefined,
  failurePolicy: string | undefined,
  activation: Record<string, unknown>,
): MatchResult {
  const errors: string[] = [];
  for (const c of conditions ?? []) {
    const r = evaluate(c.expression, activation);
    if ("error" in r) errors.push(r.error);
    else if (r.value === false) return { matches: false };
  }
  if (errors.length === 0) return { matches: true };
  if (failurePolicy === "Ignore") return { matches: false };
  return { error: errors.length === 1 ? (errors[0] ?? "") : `[${errors.join(", ")}]` };
}
