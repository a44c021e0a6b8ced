// The resources the stand-in serves, described once: discovery, OpenAPI, routing, error texts and
// the strategies (status subresource, what DELETE returns, create-on-update) all read this table.
export interface Resource {
  group: string;
  version: string;
  /** plural, lower case: the URL segment */
  resource: string;
  singular: string;
  kind: string;
  namespaced: boolean;
  shortNames: string[];
  categories: string[];
  /** has a status subresource: the main resource ignores status, /status ignores the rest */
  status: boolean;
  /** DELETE answers with the object (true) or a Status Success (false), as the real registry does
   * (ReturnDeletedObject: Pods, Services, Namespaces...; not the apps and batch kinds) */
  returnDeletedObject: boolean;
  /** PUT of a missing object creates it (Endpoints, Events, Leases) instead of 404 */
  createOnUpdate: boolean;
  /** has a scale subresource (autoscaling/v1 Scale over spec.replicas) */
  scale: boolean;
}

const VERBS = ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"];
export const RESOURCE_VERBS: readonly string[] = VERBS;

function r(
  group: string,
  version: string,
  resource: string,
  kind: string,
  namespaced: boolean,
  extra: Partial<Resource> = {},
): Resource {
  return {
    group,
    version,
    resource,
    singular: kind.toLowerCase(),
    kind,
    namespaced,
    shortNames: [],
    categories: [],
    status: false,
    returnDeletedObject: false,
    createOnUpdate: false,
    scale: false,
    ...extra,
  };
}

export const RESOURCES: readonly Resource[] = [
  r("", "v1", "configmaps", "ConfigMap", true, { shortNames: ["cm"] }),
  r("", "v1", "endpoints", "Endpoints", true, {
    shortNames: ["ep"],
    singular: "endpoints",
    createOnUpdate: true,
  }),
  r("", "v1", "events", "Event", true, { shortNames: ["ev"], createOnUpdate: true }),
  r("", "v1", "namespaces", "Namespace", false, {
    shortNames: ["ns"],
    status: true,
    returnDeletedObject: true,
  }),
  r("", "v1", "nodes", "Node", false, { shortNames: ["no"], status: true }),
  r("", "v1", "pods", "Pod", true, {
    shortNames: ["po"],
    categories: ["all"],
    status: true,
    returnDeletedObject: true,
  }),
  r("", "v1", "secrets", "Secret", true),
  // Stored, not enforced: no quota admission (deploy/ ships one for its critical pods; docs/apiserver.md).
  r("", "v1", "resourcequotas", "ResourceQuota", true, { shortNames: ["quota"], status: true }),
  r("", "v1", "services", "Service", true, {
    shortNames: ["svc"],
    categories: ["all"],
    status: true,
    returnDeletedObject: true,
  }),
  r(
    "admissionregistration.k8s.io",
    "v1",
    "mutatingwebhookconfigurations",
    "MutatingWebhookConfiguration",
    false,
    {
      categories: ["api-extensions"],
    },
  ),
  r(
    "admissionregistration.k8s.io",
    "v1",
    "validatingwebhookconfigurations",
    "ValidatingWebhookConfiguration",
    false,
    {
      categories: ["api-extensions"],
    },
  ),
  r("coordination.k8s.io", "v1", "leases", "Lease", true, { createOnUpdate: true }),
  r("discovery.k8s.io", "v1", "endpointslices", "EndpointSlice", true),
  // What deploy/ installs, so an operator's `kubectl apply -k deploy/` can be tried against the
  // lab: stored and served like the real ones, with no controller behind them.
  r("", "v1", "serviceaccounts", "ServiceAccount", true, { shortNames: ["sa"] }),
  r("apps", "v1", "daemonsets", "DaemonSet", true, {
    shortNames: ["ds"],
    categories: ["all"],
    status: true,
  }),
  // Run by lab/controllers (deployment-controller.ts) when the lab runs, stored only otherwise.
  r("apps", "v1", "deployments", "Deployment", true, {
    shortNames: ["deploy"],
    categories: ["all"],
    status: true,
    scale: true,
  }),
  r("apps", "v1", "replicasets", "ReplicaSet", true, {
    shortNames: ["rs"],
    categories: ["all"],
    status: true,
    scale: true,
  }),
  r("batch", "v1", "jobs", "Job", true, { categories: ["all"], status: true }),
  r("batch", "v1", "cronjobs", "CronJob", true, {
    shortNames: ["cj"],
    categories: ["all"],
    status: true,
  }),
  r("policy", "v1", "poddisruptionbudgets", "PodDisruptionBudget", true, {
    shortNames: ["pdb"],
    status: true,
    returnDeletedObject: true,
  }),
  r("rbac.authorization.k8s.io", "v1", "clusterroles", "ClusterRole", false),
  r("rbac.authorization.k8s.io", "v1", "clusterrolebindings", "ClusterRoleBinding", false),
  r("rbac.authorization.k8s.io", "v1", "roles", "Role", true),
  r("rbac.authorization.k8s.io", "v1", "rolebindings", "RoleBinding", true),
  r("admissionregistration.k8s.io", "v1", "validatingadmissionpolicies", "ValidatingAdmissionPolicy", false, {
    categories: ["api-extensions"],
    status: true,
    returnDeletedObject: true,
  }),
  r(
    "admissionregistration.k8s.io",
    "v1",
    "validatingadmissionpolicybindings",
    "ValidatingAdmissionPolicyBinding",
    false,
    { categories: ["api-extensions"], returnDeletedObject: true },
  ),
];

export function apiVersionOf(res: Resource): string {
  return res.group === "" ? res.version : `${res.group}/${res.version}`;
}

/** "services", "endpointslices.discovery.k8s.io": how the real server names a resource in messages */
export function qualifiedName(res: Resource): string {
  return res.group === "" ? res.resource : `${res.resource}.${res.group}`;
}

export function findResource(group: string, version: string, resource: string): Resource | undefined {
  return RESOURCES.find((x) => x.group === group && x.version === version && x.resource === resource);
}

export function groupVersions(): { group: string; version: string }[] {
  const seen = new Map<string, { group: string; version: string }>();
  for (const x of RESOURCES) seen.set(`${x.group}/${x.version}`, { group: x.group, version: x.version });
  return [...seen.values()];
}
