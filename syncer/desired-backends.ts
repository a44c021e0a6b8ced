// Which endpoints serve one farm (SPEC §3 "Backends"), the way kube-proxy chooses them.
import type { Backend, Family } from "../nftlb/types.ts";
import { backendNames } from "./desired-names.ts";
import { compare, type Endpoint, type EndpointGroup, type PortProtocol } from "./endpoints.ts";
import { clusterEndpoints, type NodeTopology } from "./topology.ts";

export interface BackendQuery {
  /** The Service port's name; "" when unnamed. Slice ports carry the same name (named targetPorts). */
  portName: string;
  protocol: PortProtocol;
  family: Family;
  /** Set for a `Local` traffic policy: only endpoints on this node serve. */
  localNode?: string;
  /** Cluster policy: this node, for EndpointSlice hints (topology.ts). Absent: hints ignored. */
  topology?: NodeTopology;
}

interface Candidate {
  endpoint: Endpoint;
  port: number;
}

/**
 * The backends of one farm:
 * 1. every endpoint of the family in a group whose port has the Service port's name and protocol,
 *    with that port (a group without such a port serves nothing for this Service port);
 * 2. only those on `localNode` when the traffic policy is Local;
 * 3. deduplicated by address and port, as kube-proxy does (an endpoint may sit in two slices for
 *    a moment; one address on two ports — two hostNetwork Pods of a node — is two backends): a
 *    ready copy beats a serving-and-terminating one, which beats the rest; else the first group;
 * 4. the ready ones; if none is ready, the serving-and-terminating ones (kube-proxy's fallback,
 *    applied after the node filter as kube-proxy does for Local policies); for a Cluster policy,
 *    the ready ones the EndpointSlice hints leave this node (topology.ts).
 * Sorted by name, so the result does not depend on the order of the groups.
 */
export function selectBackends(groups: readonly EndpointGroup[], q: BackendQuery): Backend[] {
  const byAddress = new Map<string, Candidate>();
  for (const group of groups) {
    const port = group.ports.find((p) => p.name === q.portName && p.protocol === q.protocol);
    if (port === undefined) continue;
    for (const endpoint of group.endpoints) {
      if (endpoint.family !== q.family) continue;
      if (q.localNode !== undefined && endpoint.nodeName !== q.localNode) continue;
      const key = `${endpoint.address} ${port.port}`;
      const seen = byAddress.get(key);
      if (seen === undefined || rank(endpoint) > rank(seen.endpoint)) {
        byAddress.set(key, { endpoint, port: port.port });
      }
    }
  }
  const all = [...byAddress.values()];
  let chosen: Candidate[];
  if (q.localNode === undefined && q.topology !== undefined) {
    const usable = new Set(
      clusterEndpoints(
        all.map((c) => c.endpoint),
        q.topology,
      ),
    );
    chosen = all.filter((c) => usable.has(c.endpoint));
  } else {
    const ready = all.filter((c) => c.endpoint.ready);
    chosen = ready.length > 0 ? ready : all.filter((c) => usableWhileTerminating(c.endpoint));
  }
  chosen.sort((a, b) => compare(a.endpoint.address, b.endpoint.address) || a.port - b.port);
  const names = backendNames(chosen.map((c) => ({ ...c.endpoint, port: c.port })));
  return chosen
    .map((c, i): Backend => ({
      name: names[i]!,
      "ip-addr": c.endpoint.address,
      port: String(c.port),
      state: "up",
    }))
    .sort((a, b) => compare(a.name, b.name));
}

const usableWhileTerminating = (e: Endpoint): boolean => e.serving && e.terminating;
const rank = (e: Endpoint): number => (e.ready ? 2 : usableWhileTerminating(e) ? 1 : 0);
