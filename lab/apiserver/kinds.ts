// Per-kind strategies other than Service: the name rule, the v1 defaulters and the validation
// of the fields kube-nftlb and its tests use (Pods, EndpointSlices, webhook configurations...).
import type { Resource } from "./resources.ts";
import type { FieldError } from "./status.ts";
import type { Obj } from "./store.ts";
import { defaultWorkload, validateWorkload } from "./apps.ts";
import { defaultPodSpec, validatePodSpec } from "./podspec.ts";
import { validateEndpointSlice, validateEndpoints, validateSecret } from "./endpoints.ts";
import { defaultRbac, validateRbac } from "./rbac-validation.ts";
import { defaultService, validateService } from "./service.ts";
import { webhookConditionProblem } from "./cel.ts";
import { invalidValue, metadataErrors, notSupported, required, type NameRule } from "./validation.ts";

const NAME_RULES: Record<string, NameRule> = {
  Namespace: "label",
  Service: "dns1035",
  Event: "path",
  Lease: "subdomain",
  // ValidateRBACName: any path segment ("system:discovery")
  Role: "path",
  ClusterRole: "path",
  RoleBinding: "path",
  ClusterRoleBinding: "path",
};

type Any = Record<string, unknown>;
const arr = (v: unknown): Any[] => (Array.isArray(v) ? (v as Any[]) : []);

function defaultWebhooks(obj: Obj, mutating: boolean): void {
  for (const w of arr(obj.webhooks)) {
    w.failurePolicy ??= "Fail";
    w.matchPolicy ??= "Equivalent";
    w.timeoutSeconds ??= 10;
    w.namespaceSelector ??= {};
    w.objectSelector ??= {};
    if (mutating) w.reinvocationPolicy ??= "Never";
    for (const r of arr(w.rules)) r.scope ??= "*";
    const svc = (w.clientConfig as Any | undefined)?.service as Any | undefined;
    if (svc !== undefined) svc.port ??= 443;
  }
}

export function applyDefaults(res: Resource, obj: Obj): void {
  switch (res.kind) {
    case "Service":
      return defaultService(obj);
    case "Namespace": {
      const spec = (obj.spec ??= {}) as Any;
      spec.finalizers ??= ["kubernetes"];
      obj.status ??= { phase: "Active" };
      // the apiserver keeps this label equal to the name, so selectors can rely on it
      obj.metadata.labels = {
        ...obj.metadata.labels,
        "kubernetes.io/metadata.name": obj.metadata.name ?? "",
      };
      return;
    }
    case "Pod":
      defaultPodSpec((obj.spec ??= {}) as Any);
      obj.status ??= { phase: "Pending", qosClass: "BestEffort" };
      return;
    case "Deployment":
    case "ReplicaSet":
      return defaultWorkload(res.kind, obj);
    case "Secret": {
      obj.type ??= "Opaque";
      // Like the real registry: stringData is write-only, merged into data (base64) and dropped.
      const plain = obj.stringData;
      if (plain && typeof plain === "object" && !Array.isArray(plain)) {
        const data = (obj.data && typeof obj.data === "object" ? obj.data : {}) as Record<string, unknown>;
        for (const [k, v] of Object.entries(plain as Record<string, unknown>)) {
          if (typeof v === "string") data[k] = Buffer.from(v, "utf8").toString("base64");
        }
        obj.data = data;
      }
      delete obj.stringData;
      return;
    }
    case "EndpointSlice":
      for (const p of arr(obj.ports)) p.protocol ??= "TCP";
      return;
    case "Endpoints":
      for (const sub of arr(obj.subsets)) for (const p of arr(sub.ports)) p.protocol ??= "TCP";
      return;
    case "RoleBinding":
    case "ClusterRoleBinding":
      return defaultRbac(res.kind, obj);
    case "MutatingWebhookConfiguration":
      return defaultWebhooks(obj, true);
    case "ValidatingWebhookConfiguration":
      return defaultWebhooks(obj, false);
  }
}

function validateWebhooks(obj: Obj): FieldError[] {
  const out: FieldError[] = [];
  const seen = new Set<unknown>();
  arr(obj.webhooks).forEach((w, i) => {
    const f = `webhooks[${i}]`;
    const name = w.name;
    if (typeof name !== "string" || name === "") out.push(required(`${f}.name`));
    else if (name.split(".").length < 3)
      out.push(
        invalidValue(`${f}.name`, name, "should be a domain with at least three segments separated by dots"),
      );
    if (seen.has(name))
      out.push({
        field: `${f}.name`,
        type: "FieldValueDuplicate",
        detail: `Duplicate value: ${JSON.stringify(name)}`,
      });
    seen.add(name);
    if (!["None", "NoneOnDryRun"].includes(w.sideEffects as string)) {
      out.push(
        w.sideEffects === undefined
          ? required(`${f}.sideEffects`, "must specify one of None, NoneOnDryRun")
          : notSupported(`${f}.sideEffects`, w.sideEffects, ["None", "NoneOnDryRun"]),
      );
    }
    const versions = w.admissionReviewVersions;
    if (!Array.isArray(versions) || versions.length === 0)
      out.push(required(`${f}.admissionReviewVersions`, "must specify one of v1, v1beta1"));
    else if (!versions.some((v) => v === "v1" || v === "v1beta1")) {
      out.push(
        invalidValue(`${f}.admissionReviewVersions`, versions, "must include at least one of v1, v1beta1"),
      );
    }
    if (!["Fail", "Ignore"].includes(w.failurePolicy as string))
      out.push(notSupported(`${f}.failurePolicy`, w.failurePolicy, ["Fail", "Ignore"]));
    const t = w.timeoutSeconds;
    if (!(typeof t === "number" && t >= 1 && t <= 30))
      out.push(invalidValue(`${f}.timeoutSeconds`, t, "the timeout value must be between 1 and 30 seconds"));
    const cc = (w.clientConfig ?? {}) as Any;
    if ((cc.url === undefined) === (cc.service === undefined))
      out.push(required(`${f}.clientConfig`, "exactly one of url or service is required"));
    if (typeof cc.url === "string" && !cc.url.startsWith("https://"))
      out.push(invalidValue(`${f}.clientConfig.url`, cc.url, "'https' is the only allowed URL scheme"));
    arr(w.rules).forEach((r, j) => {
      if (!["*", "Cluster", "Namespaced"].includes(r.scope as string))
        out.push(notSupported(`${f}.rules[${j}].scope`, r.scope, ["*", "Cluster", "Namespaced"]));
      if (arr(r.operations).length === 0) out.push(required(`${f}.rules[${j}].operations`));
    });
    arr(w.matchConditions).forEach((c, j) => {
      const at = `${f}.matchConditions[${j}]`;
      if (typeof c.name !== "string" || c.name === "") out.push(required(`${at}.name`));
      const expression = typeof c.expression === "string" ? c.expression.trim() : "";
      if (expression === "") return void out.push(required(`${at}.expression`));
      const problem = webhookConditionProblem(expression);
      if (problem !== undefined) out.push(invalidValue(`${at}.expression`, expression, problem));
    });
  });
  return out;
}

const validatePod = (obj: Obj): FieldError[] => validatePodSpec((obj.spec ?? {}) as Any, "spec");

export function validate(res: Resource, obj: Obj, old: Obj | undefined): FieldError[] {
  const out = metadataErrors(obj, NAME_RULES[res.kind] ?? "subdomain", res.namespaced);
  switch (res.kind) {
    case "Service":
      return [...out, ...validateService(obj)];
    case "Pod":
      return [...out, ...validatePod(obj)];
    case "EndpointSlice":
      return [...out, ...validateEndpointSlice(obj, old)];
    case "Deployment":
    case "ReplicaSet":
      return [...out, ...validateWorkload(obj, old)];
    case "Endpoints":
      return [...out, ...validateEndpoints(obj)];
    case "Secret":
      return [...out, ...validateSecret(obj, old)];
    case "MutatingWebhookConfiguration":
    case "ValidatingWebhookConfiguration":
      return [...out, ...validateWebhooks(obj)];
    case "Role":
    case "ClusterRole":
    case "RoleBinding":
    case "ClusterRoleBinding":
      return [...out, ...validateRbac(res.kind, obj, old)];
  }
  return out;
}
