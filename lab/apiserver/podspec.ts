// The Pod spec: its defaulters and checks, for Pods and for the Pod templates of Deployments and
// ReplicaSets (pkg/apis/core/v1 defaults, pkg/apis/core/validation ValidatePodSpec in small).
import type { FieldError } from "./status.ts";
import { nameErrors, required } from "./validation.ts";

type Any = Record<string, unknown>;
const arr = (v: unknown): Any[] => (Array.isArray(v) ? (v as Any[]) : []);

/** SetDefaults_PodSpec and SetDefaults_Container, for the fields the lab reads. */
export function defaultPodSpec(spec: Any): void {
  spec.restartPolicy ??= "Always";
  spec.dnsPolicy ??= "ClusterFirst";
  spec.schedulerName ??= "default-scheduler";
  spec.terminationGracePeriodSeconds ??= 30;
  for (const c of arr(spec.containers)) {
    c.terminationMessagePath ??= "/dev/termination-log";
    c.terminationMessagePolicy ??= "File";
    c.imagePullPolicy ??=
      typeof c.image === "string" && (c.image.endsWith(":latest") || !c.image.includes(":"))
        ? "Always"
        : "IfNotPresent";
    for (const p of arr(c.ports)) p.protocol ??= "TCP";
  }
}

/** A Pod spec's checks; `at` is where the spec is ("spec", or "spec.template.spec"). */
export function validatePodSpec(spec: Any, at: string): FieldError[] {
  const containers = arr(spec.containers);
  if (containers.length === 0) return [required(`${at}.containers`)];
  const out: FieldError[] = [];
  containers.forEach((c, i) => {
    const f = `${at}.containers[${i}]`;
    if (typeof c.name !== "string" || c.name === "") out.push(required(`${f}.name`));
    else out.push(...nameErrors(c.name, "label", `${f}.name`));
    if (typeof c.image !== "string" || c.image === "") out.push(required(`${f}.image`));
  });
  return out;
}
