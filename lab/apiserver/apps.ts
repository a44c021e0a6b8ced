// apps/v1 Deployments and ReplicaSets: the v1 defaulters, the checks of pkg/apis/apps/validation
// that a manifest can trip (selector required, non-empty, matching the template's labels and
// immutable; replicas not negative; the template a valid Pod spec with restartPolicy Always),
// and the autoscaling/v1 Scale view of spec.replicas served at /scale.
import { defaultPodSpec, validatePodSpec } from "./podspec.ts";
import type { LabelSelector } from "./selectors.ts";
import { matchesLabelSelector } from "./selectors.ts";
import type { FieldError } from "./status.ts";
import type { Obj } from "./store.ts";
import { invalidValue, notSupported, required } from "./validation.ts";

type Any = Record<string, unknown>;
const isMap = (v: unknown): v is Any => typeof v === "object" && v !== null && !Array.isArray(v);

export function defaultWorkload(kind: string, obj: Obj): void {
  const spec = isMap(obj.spec) ? obj.spec : (obj.spec = {});
  spec.replicas ??= 1;
  if (kind === "Deployment") {
    const strategy = isMap(spec.strategy) ? spec.strategy : (spec.strategy = {});
    strategy.type ??= "RollingUpdate";
    if (strategy.type === "RollingUpdate") {
      const ru = isMap(strategy.rollingUpdate) ? strategy.rollingUpdate : (strategy.rollingUpdate = {});
      ru.maxUnavailable ??= "25%";
      ru.maxSurge ??= "25%";
    }
    spec.revisionHistoryLimit ??= 10;
    spec.progressDeadlineSeconds ??= 600;
  }
  const template = isMap(spec.template) ? spec.template : (spec.template = {});
  defaultPodSpec(isMap(template.spec) ? template.spec : (template.spec = {}));
  obj.status ??= {};
}

/** Go's %#v of a map[string]string, as field.Invalid prints template labels. */
const goMap = (m: Record<string, string>) =>
  `map[string]string{${Object.keys(m)
    .sort()
    .map((k) => `${JSON.stringify(k)}:${JSON.stringify(m[k])}`)
    .join(", ")}}`;

function goSelector(s: LabelSelector): string {
  const exprs = s.matchExpressions ?? [];
  const e =
    exprs.length === 0
      ? "[]v1.LabelSelectorRequirement(nil)"
      : `[]v1.LabelSelectorRequirement{${exprs
          .map(
            (x) =>
              `v1.LabelSelectorRequirement{Key:${JSON.stringify(x.key)}, Operator:${JSON.stringify(x.operator)}, Values:[]string{${(x.values ?? []).map((v) => JSON.stringify(v)).join(", ")}}}`,
          )
          .join(", ")}}`;
  const labels = s.matchLabels === undefined ? "map[string]string(nil)" : goMap(s.matchLabels);
  return `v1.LabelSelector{MatchLabels:${labels}, MatchExpressions:${e}}`;
}

/** field.Invalid with a value Go prints with %#v (not JSON). */
const invalidGo = (field: string, printed: string, why: string): FieldError => ({
  field,
  type: "FieldValueInvalid",
  detail: `Invalid value: ${printed}: ${why}`,
});

export function validateWorkload(obj: Obj, old: Obj | undefined): FieldError[] {
  const spec = isMap(obj.spec) ? obj.spec : {};
  const out: FieldError[] = [];
  const replicas = spec.replicas;
  if (typeof replicas === "number" && replicas < 0)
    out.push(invalidValue("spec.replicas", replicas, "must be greater than or equal to 0"));
  const selector: unknown = spec.selector;
  const template = isMap(spec.template) ? spec.template : {};
  const labels = (isMap(template.metadata) ? template.metadata : {}).labels as
    Record<string, string> | undefined;
  if (!isMap(selector)) out.push(required("spec.selector"));
  else out.push(...selectorErrors(selector, labels, old));
  const podSpec = isMap(template.spec) ? template.spec : {};
  out.push(...validatePodSpec(podSpec, "spec.template.spec"));
  if (podSpec.restartPolicy !== "Always")
    out.push(notSupported("spec.template.spec.restartPolicy", podSpec.restartPolicy, ["Always"]));
  return out;
}

function selectorErrors(
  selector: LabelSelector,
  labels: Record<string, string> | undefined,
  old: Obj | undefined,
): FieldError[] {
  const out: FieldError[] = [];
  const empty =
    Object.keys(selector.matchLabels ?? {}).length + (selector.matchExpressions ?? []).length === 0;
  // the real validators say "deployment" for ReplicaSets too
  if (empty)
    out.push(invalidGo("spec.selector", goSelector(selector), "empty selector is invalid for deployment"));
  else if (!matchesLabelSelector(selector, labels ?? {}))
    out.push(
      invalidGo(
        "spec.template.metadata.labels",
        labels === undefined ? "map[string]string(nil)" : goMap(labels),
        "`selector` does not match template `labels`",
      ),
    );
  const before = isMap(old?.spec) ? old.spec.selector : undefined;
  if (old !== undefined && JSON.stringify(before) !== JSON.stringify(selector))
    out.push(invalidGo("spec.selector", goSelector(selector), "field is immutable"));
  return out;
}

/** metav1.FormatLabelSelector: "app=web,tier in (a,b)" */
export function formatSelector(s: LabelSelector | undefined): string {
  if (s === undefined) return "";
  const parts = Object.keys(s.matchLabels ?? {})
    .sort()
    .map((k) => `${k}=${s.matchLabels?.[k] ?? ""}`);
  for (const e of s.matchExpressions ?? []) {
    const values = [...(e.values ?? [])].sort().join(",");
    if (e.operator === "In") parts.push(`${e.key} in (${values})`);
    else if (e.operator === "NotIn") parts.push(`${e.key} notin (${values})`);
    else if (e.operator === "Exists") parts.push(e.key);
    else if (e.operator === "DoesNotExist") parts.push(`!${e.key}`);
  }
  return parts.length === 0 ? "<none>" : parts.join(",");
}

/** The Scale a /scale GET answers for a Deployment or ReplicaSet. */
export function toScale(obj: Obj): Obj {
  const spec = isMap(obj.spec) ? obj.spec : {};
  const status = isMap(obj.status) ? obj.status : {};
  const m = obj.metadata;
  return {
    kind: "Scale",
    apiVersion: "autoscaling/v1",
    metadata: {
      name: m.name,
      namespace: m.namespace,
      uid: m.uid,
      resourceVersion: m.resourceVersion,
      creationTimestamp: m.creationTimestamp,
    },
    spec: { replicas: spec.replicas },
    status: {
      replicas: typeof status.replicas === "number" ? status.replicas : 0,
      selector: formatSelector(spec.selector as LabelSelector | undefined),
    },
  };
}
