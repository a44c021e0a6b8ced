// Discovery: the legacy documents (/api, /apis, one per group version) and /version, and
// aggregated discovery (apidiscovery.k8s.io/v2, GA since 1.30) for clients that ask for it, as
// kubectl and client-go 1.26+ do: every group and resource in the answers to /api and /apis.
import { createHash } from "node:crypto";
import type { IncomingMessage } from "node:http";
import { sendJson, type Ctx } from "./http.ts";
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

/** The media type of aggregated discovery, as the client asks for it and the server answers. */
export const AGGREGATED_DISCOVERY = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList";

/**
 * Whether an Accept header asks for aggregated discovery v2 before plain JSON, as the real
 * server's negotiation reads client-go's `v2, v2beta1, application/json`. A client asking for
 * v2beta1 alone (client-go 1.26–1.29) gets the legacy documents: the stand-in serves v2 only.
 */
export function wantsAggregated(accept: string | undefined): boolean {
  for (const range of (accept ?? "").split(",")) {
    const [type = "", ...params] = range.split(";").map((s) => s.trim());
    const p = new Map(params.map((x) => x.split("=").map((s) => s.trim()) as [string, string]));
    if (type !== "application/json" && type !== "*/*" && type !== "application/*") continue;
    if (p.get("g") === undefined && p.get("as") === undefined) return false;
    if (
      p.get("g") === "apidiscovery.k8s.io" &&
      p.get("v") === "v2" &&
      p.get("as") === "APIGroupDiscoveryList"
    )
      return true;
  }
  return false;
}

type LegacyResource = { name: string; kind: string; namespaced: boolean; verbs: string[] } & Record<
  string,
  unknown
>;
const responseKind = (r: LegacyResource) => ({
  group: (r.group as string | undefined) ?? "",
  version: (r.version as string | undefined) ?? "",
  kind: r.kind,
});

/** One group version's resources, each with its subresources, as apidiscovery.k8s.io/v2 has them. */
function versionDiscovery(group: string, version: string): Record<string, unknown> {
  const legacy = (apiResourceList(group, version)?.resources ?? []) as LegacyResource[];
  const resources = legacy
    .filter((r) => !r.name.includes("/"))
    .map((r) => {
      const subresources = legacy
        .filter((s) => s.name.startsWith(`${r.name}/`))
        .map((s) => ({
          subresource: s.name.slice(r.name.length + 1),
          responseKind: responseKind(s),
          verbs: s.verbs,
        }));
      return {
        resource: r.name,
        responseKind: responseKind(r),
        scope: r.namespaced ? "Namespaced" : "Cluster",
        singularResource: r.singularName,
        verbs: r.verbs,
        ...(r.shortNames !== undefined ? { shortNames: r.shortNames } : {}),
        ...(r.categories !== undefined ? { categories: r.categories } : {}),
        ...(subresources.length > 0 ? { subresources } : {}),
      };
    });
  return { version, resources, freshness: "Current" };
}

/**
 * Aggregated discovery: `/api` (the core group, nameless) or `/apis` (every other group), each
 * group with its versions in preference order and every resource in them, the same resources the
 * legacy documents list.
 */
export function aggregatedDiscovery(core: boolean): Record<string, unknown> {
  const groups = core ? [""] : (apiGroupList().groups as { name: string }[]).map((g) => g.name);
  const items = groups.map((group) => ({
    metadata: group === "" ? { creationTimestamp: null } : { name: group, creationTimestamp: null },
    versions: servedGroupVersions()
      .filter((gv) => gv.group === group)
      .map((gv) => versionDiscovery(gv.group, gv.version)),
  }));
  return { kind: "APIGroupDiscoveryList", apiVersion: "apidiscovery.k8s.io/v2", metadata: {}, items };
}

/**
 * Aggregated discovery as the real handler serves it (aggregated/etag.go): its media type, an
 * ETag of the document (the hex SHA-512 of its JSON, quoted), `Vary: Accept` because the same path
 * also serves the legacy document, and 304 to an If-None-Match of that ETag.
 */
export function sendAggregated(
  base: Pick<Ctx, "res" | "warnings">,
  req: IncomingMessage,
  doc: unknown,
): void {
  const etag = `"${createHash("sha512").update(JSON.stringify(doc)).digest("hex").toUpperCase()}"`;
  const headers = {
    "Content-Type": AGGREGATED_DISCOVERY,
    ETag: etag,
    Vary: "Accept",
    "Cache-Control": "public",
  };
  if (req.headers["if-none-match"] === etag) {
    base.res.writeHead(304, headers);
    base.res.end();
    return;
  }
  sendJson(base, 200, doc, headers);
}
