// Topology-aware routing, as kube-proxy decides it (pkg/proxy/topology.go): the EndpointSlice
// controller turns `spec.trafficDistribution` (PreferClose / PreferSameZone / PreferSameNode) into
// per-endpoint hints, and the proxy only reads the hints. Pure; used by desired-backends.ts for
// farms that serve Cluster-policy traffic (a Local policy already keeps traffic on the node).
//
// The rules, in kube-proxy's order, over the ready endpoints of one Service port:
// 1. every ready endpoint has a node hint and one is hinted for this node → same node;
// 2. else every ready endpoint has a zone hint and one is hinted for this node's zone
//    (Node label topology.kubernetes.io/zone) → same zone;
// 3. else no topology: every endpoint.
// The fallback is in choosing the mode, never after it: a mode is only picked when it leaves at
// least one ready endpoint. Serving-and-terminating endpoints (used when none is ready) ignore
// topology.

export const ZONE_LABEL = "topology.kubernetes.io/zone";

export type TopologyMode = "" | "PreferSameNode" | "PreferSameZone";

export interface Hinted {
  ready: boolean;
  /** `hints.forZones[].name`; empty or absent means no zone hint. */
  zoneHints?: readonly string[];
  /** `hints.forNodes[].name`; empty or absent means no node hint. */
  nodeHints?: readonly string[];
}

export interface NodeTopology {
  name: string;
  /** The Node's topology.kubernetes.io/zone label; absent when unlabelled. */
  zone?: string;
}

const has = (hints: readonly string[] | undefined, v: string | undefined): boolean =>
  v !== undefined && v !== "" && (hints ?? []).includes(v);

/** kube-proxy's topologyModeFromHints. */
export function topologyMode(endpoints: readonly Hinted[], node: NodeTopology): TopologyMode {
  const ready = endpoints.filter((e) => e.ready);
  if (ready.length === 0) return "";
  const allNode = ready.every((e) => (e.nodeHints ?? []).length > 0);
  if (allNode && ready.some((e) => has(e.nodeHints, node.name))) return "PreferSameNode";
  const allZone = ready.every((e) => (e.zoneHints ?? []).length > 0);
  if (allZone && ready.some((e) => has(e.zoneHints, node.zone))) return "PreferSameZone";
  return "";
}

/** kube-proxy's availableForTopology: may this node use the endpoint under `mode`? */
export function availableForTopology(e: Hinted, mode: TopologyMode, node: NodeTopology): boolean {
  if (mode === "PreferSameNode") return has(e.nodeHints, node.name);
  if (mode === "PreferSameZone") return has(e.zoneHints, node.zone);
  return true;
}

/** The Cluster-policy endpoints this node uses: ready and available, else serving-terminating. */
export function clusterEndpoints<E extends Hinted & { serving: boolean; terminating: boolean }>(
  endpoints: readonly E[],
  node: NodeTopology,
): E[] {
  const mode = topologyMode(endpoints, node);
  const ready = endpoints.filter((e) => e.ready && availableForTopology(e, mode, node));
  return ready.length > 0 ? ready : endpoints.filter((e) => e.serving && e.terminating);
}
