// Legacy (unaggregated) discovery documents and /version. Clients asking for aggregated
// discovery (apidiscovery.k8s.io/v2) get these plain documents with Content-Type application/json,
// which client-go takes as "not aggregated" and reads the legacy way.
import { apiVersionOf, groupVersions, RESOURCE_VERBS, RESOURCES } from "./resources.ts";

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
  const versions = groupVersions()
    .filter((gv) => gv.group === group)
    .map((gv) => ({ groupVersion: `${gv.group}/${gv.version}`, version: gv.version }));
  return { name: group, versions, preferredVersion: versions[0] };
}

export function apiGroupList(): Record<string, unknown> {
  const groups = [...new Set(groupVersions().map((gv) => gv.group))].filter((g) => g !== "").sort();
  return { kind: "APIGroupList", apiVersion: "v1", groups: groups.map(groupDoc) };
}

export function apiGroup(group: string): Record<string, unknown> | undefined {
  if (!groupVersions().some((gv) => gv.group === group && group !== "")) return undefined;
  return { kind: "APIGroup", apiVersion: "v1", ...groupDoc(group) };
}

export function apiResourceList(group: string, version: string): Record<string, unknown> | undefined {
  const list = RESOURCES.filter((r) => r.group === group && r.version === version);
  if (list.length === 0) return undefined;
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
    return [main, ...(r.status ? [status] : []), ...(r.scale ? [scale] : [])];
  });
  return {
    kind: "APIResourceList",
    apiVersion: "v1",
    groupVersion: apiVersionOf(list[0] ?? RESOURCES[0]!),
    resources,
  };
}
