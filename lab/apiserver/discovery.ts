// Legacy (unaggregated) discovery documents and /version. Clients asking for aggregated
// discovery (apidiscovery.k8s.io/v2) get these plain documents with Content-Type application/json,
// which client-go takes as "not aggregated" and reads the legacy way.
import { groupVersions, RESOURCE_VERBS, RESOURCES } from "./resources.ts";

/** Create-only APIs (auth-requests.ts), not stored: listed so kubectl can map their names. */
export const REVIEWS: {
  group: string;
  version: string;
  resource: string;
  kind: string;
  namespaced?: boolean;
}[] = [
  {
    group: "authorization.k8s.io",
    version: "v1",
    resource: "selfsubjectaccessreviews",
    kind: "SelfSubjectAccessReview",
  },
  {
    group: "authentication.k8s.io",
    version: "v1",
    resource: "selfsubjectreviews",
    kind: "SelfSubjectReview",
  },
  {
    group: "authorization.k8s.io",
    version: "v1",
    resource: "selfsubjectrulesreviews",
    kind: "SelfSubjectRulesReview",
  },
  {
    group: "authorization.k8s.io",
    version: "v1",
    resource: "subjectaccessreviews",
    kind: "SubjectAccessReview",
  },
  {
    group: "authorization.k8s.io",
    version: "v1",
    resource: "localsubjectaccessreviews",
    kind: "LocalSubjectAccessReview",
    namespaced: true,
  },
  {
    group: "authentication.k8s.io",
    version: "v1",
    resource: "tokenreviews",
    kind: "TokenReview",
  },
];

function servedGroupVersions(): { group: string; version: string }[] {
  const all = [...groupVersions(), ...REVIEWS.map(({ group, version }) => ({ group, version }))];
  return all.filter((gv, i) => all.findIndex((x) => x.group === gv.group && x.version === gv.version) === i);
}

export const SERVER_VERSION = { major: "1", minor: "32", gitVersion: "v1.32.4-lab" };

export function versionInfo(): Record<string, string> {
  return {
    ...SERVER_VERSION,
    gitCommit: "0000000000000000000000000000000000000000",
    gitTreeState: "clean",
    buildDate: "2025-04-22T00:00:00Z",
    goVersion: "go1.23.8",
    compiler: "gc",
    platform: "linux/amd64",
  };
}

export function apiVersions(serverAddress: string): Record<string, unknown> {
  return {
    kind: "APIVersions",
    versions: ["v1"],
    serverAddressByClientCIDRs: [{ clientCIDR: "0.0.0.0/0", serverAddress }],
  };
}

function groupDoc(group: string): Record<string, unknown> {
  const versions = servedGroupVersions()
    .filter((gv) => gv.group === group)
    .map((gv) => ({ groupVersion: `${gv.group}/${gv.version}`, version: gv.version }));
  return { name: group, versions, preferredVersion: versions[0] };
}

export function apiGroupList(): Record<string, unknown> {
  const groups = [...new Set(servedGroupVersions().map((gv) => gv.group))].filter((g) => g !== "").sort();
  return { kind: "APIGroupList", apiVersion: "v1", groups: groups.map(groupDoc) };
}

export function apiGroup(group: string): Record<string, unknown> | undefined {
  if (!servedGroupVersions().some((gv) => gv.group === group && group !== "")) return undefined;
  return { kind: "APIGroup", apiVersion: "v1", ...groupDoc(group) };
}

export function apiResourceList(group: string, version: string): Record<string, unknown> | undefined {
  const list = RESOURCES.filter((r) => r.group === group && r.version === version);
  const reviews = REVIEWS.filter((r) => r.group === group && r.version === version).map((r) => ({
    name: r.resource,
    singularName: r.kind.toLowerCase(),
    namespaced: r.namespaced === true,
    kind: r.kind,
    verbs: ["create"],
  }));
  if (list.length === 0 && reviews.length === 0) return undefined;
  const resources = list.flatMap((r) => {
    const main: Record<string, unknown> = {
      name: r.resource,
      singularName: r.singular,
      namespaced: r.namespaced,
      kind: r.kind,
      verbs: [...RESOURCE_VERBS],
    };
    if (r.shortNames.length > 0) main.shortNames = r.shortNames;
    if (r.categories.length > 0) main.categories = r.categories;
    const status = {
      name: `${r.resource}/status`,
      singularName: "",
      namespaced: r.namespaced,
      kind: r.kind,
      verbs: ["get", "patch", "update"],
    };
    const scale = {
      name: `${r.resource}/scale`,
      singularName: "",
      namespaced: r.namespaced,
      group: "autoscaling",
      version: "v1",
      kind: "Scale",
      verbs: ["get", "patch", "update"],
    };
    // TokenRequest: `kubectl create token` (auth-requests.ts)
    const token = {
      name: `${r.resource}/token`,
      singularName: "",
      namespaced: true,
      group: "authentication.k8s.io",
      version: "v1",
      kind: "TokenRequest",
      verbs: ["create"],
    };
    return [
      main,
      ...(r.status ? [status] : []),
      ...(r.scale ? [scale] : []),
      ...(r.resource === "serviceaccounts" ? [token] : []),
    ];
  });
  return {
    kind: "APIResourceList",
    apiVersion: "v1",
    groupVersion: group === "" ? version : `${group}/${version}`,
    resources: [...resources, ...reviews],
  };
}
