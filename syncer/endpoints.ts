// A Service's endpoints as `desired` reads them, whichever API they came from: EndpointSlices
// (discovery.k8s.io/v1, here) or the v1 Endpoints object (endpoints-v1.ts). Both become the same
// list of groups, so the farms cannot depend on the source.
//
// The input is read defensively, field by field: these objects come from the cluster or from
// files, and a missing or mistyped field drops that endpoint or port, never throws.
import type { Family } from "../nftlb/types.ts";
import { parseIp } from "../nftlb/ip.ts";
import { SERVICE_NAME_LABEL } from "../kube/labels.ts";

export type PortProtocol = "TCP" | "UDP" | "SCTP";

/** A port of the group, named after the Service port it serves ("" when that one is unnamed). */
export interface EndpointPort {
  name: string;
  protocol: PortProtocol;
  port: number;
}

export interface Endpoint {
  /** Canonical address (see nftlb/ip.ts). */
  address: string;
  family: Family;
  /** Absent means "not on any node we know": never local. */
  nodeName?: string;
  /** The Pod's name when the endpoint points at one. */
  podName?: string;
  ready: boolean;
  serving: boolean;
  terminating: boolean;
  /** EndpointSlice `hints.forZones[].name` / `hints.forNodes[].name` (topology.ts). */
  zoneHints?: string[];
  nodeHints?: string[];
}

/** Endpoints that share a port list: one EndpointSlice, or one subset of an Endpoints object. */
export interface EndpointGroup {
  /** Where the group came from, for messages and for a deterministic order ("slice web-abc"). */
  source: string;
  ports: EndpointPort[];
  endpoints: Endpoint[];
}

/**
 * The groups of every EndpointSlice that belongs to the Service `namespace/name`: labelled
 * `kubernetes.io/service-name=<name>` in the same namespace (absent namespace = "default"),
 * addressType IPv4 or IPv6 (FQDN slices are ignored, as kube-proxy does). Ordered by slice name.
 */
export function groupsFromSlices(
  slices: readonly unknown[],
  namespace: string,
  name: string,
): EndpointGroup[] {
  const groups: EndpointGroup[] = [];
  for (const slice of Array.isArray(slices) ? slices : []) {
    if (!isRecord(slice)) continue;
    const meta = isRecord(slice.metadata) ? slice.metadata : {};
    const labels = isRecord(meta.labels) ? meta.labels : {};
    if (labels[SERVICE_NAME_LABEL] !== name || (str(meta.namespace) ?? "default") !== namespace) continue;
    const family = slice.addressType === "IPv4" ? "ipv4" : slice.addressType === "IPv6" ? "ipv6" : undefined;
    if (family === undefined) continue;
    const endpoints: Endpoint[] = [];
    for (const e of list(slice.endpoints)) {
      if (!isRecord(e)) continue;
      // kube-proxy reads only the first address of an endpoint; the controller writes exactly one.
      const ip = parseIp(list(e.addresses)[0]);
      if (ip?.family !== family) continue;
      const c = isRecord(e.conditions) ? e.conditions : {};
      endpoints.push({
        ...ip,
        ...optional("nodeName", str(e.nodeName)),
        ...optional("podName", podName(e.targetRef)),
        // Absent means true for ready and serving, false for terminating (discovery.k8s.io/v1).
        ready: bool(c.ready) ?? true,
        serving: bool(c.serving) ?? true,
        terminating: bool(c.terminating) ?? false,
        ...hints(e.hints),
      });
    }
    groups.push({
      source: `EndpointSlice ${str(meta.name) ?? "(unnamed)"}`,
      ports: readPorts(slice.ports),
      endpoints,
    });
  }
  return groups.sort((a, b) => compare(a.source, b.source));
}

/** Ports with a usable number; a port without one (allowed by the API) serves nothing. */
export function readPorts(value: unknown): EndpointPort[] {
  const ports: EndpointPort[] = [];
  for (const p of list(value)) {
    if (!isRecord(p)) continue;
    const port = p.port;
    if (typeof port !== "number" || !Number.isInteger(port) || port < 1 || port > 65535) continue;
    const protocol = p.protocol ?? "TCP";
    if (protocol !== "TCP" && protocol !== "UDP" && protocol !== "SCTP") continue;
    ports.push({ name: str(p.name) ?? "", protocol, port });
  }
  return ports;
}

/** The names in `hints.forZones` and `hints.forNodes`; entries without a name are dropped. */
function hints(value: unknown): { zoneHints?: string[]; nodeHints?: string[] } {
  if (!isRecord(value)) return {};
  const names = (v: unknown) => list(v).flatMap((h) => (isRecord(h) && str(h.name) ? [str(h.name)!] : []));
  const zones = names(value.forZones);
  const nodes = names(value.forNodes);
  return {
    ...(zones.length > 0 ? { zoneHints: zones } : {}),
    ...(nodes.length > 0 ? { nodeHints: nodes } : {}),
  };
}

/** The Pod's name from a targetRef; a reference to anything else names no Pod. */
export function podName(ref: unknown): string | undefined {
  if (!isRecord(ref)) return undefined;
  if (ref.kind !== undefined && ref.kind !== "Pod") return undefined;
  return str(ref.name);
}

export const isRecord = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v);
export const list = (v: unknown): unknown[] => (Array.isArray(v) ? (v as unknown[]) : []);
export const str = (v: unknown): string | undefined => (typeof v === "string" && v !== "" ? v : undefined);
const bool = (v: unknown): boolean | undefined => (typeof v === "boolean" ? v : undefined);
/** `{ key: value }` when value is defined, else `{}`: keeps absent fields absent. */
export const optional = <K extends string, V>(key: K, value: V | undefined): { [P in K]?: V } =>
  (value === undefined ? {} : { [key]: value }) as { [P in K]?: V };
/** Code-point order, independent of the machine's locale. */
export const compare = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);
