// What the real EndpointSlice controller (kube-controller-manager) would write for a Service:
// the endpoints of the Pods its selector matches, one slice per address family and port mapping,
// at most 100 endpoints each, each with its node's zone, and with the hints the real controller's
// trafficdist package writes for spec.trafficDistribution (PreferClose / PreferSameZone: a
// forZones hint of the endpoint's own zone; PreferSameNode: also forNodes of its node; only on
// ready endpoints). The topology-mode: Auto annotation's proportional hints are not made.
// Pure: the lab's controller loop diffs this against the API.

export interface Pod {
  metadata: {
    name: string;
    namespace?: string;
    uid?: string;
    labels?: Record<string, string>;
    deletionTimestamp?: string;
  };
  spec?: {
    nodeName?: string;
    containers?: { ports?: { name?: string; containerPort: number; protocol?: string }[] }[];
  };
  status?: {
    phase?: string;
    podIP?: string;
    podIPs?: { ip: string }[];
    conditions?: { type: string; status: string }[];
  };
}

export interface ServiceForSlices {
  metadata: { name: string; namespace?: string; uid?: string };
  spec: {
    selector?: Record<string, string> | null;
    ipFamilies?: ("IPv4" | "IPv6")[];
    publishNotReadyAddresses?: boolean;
    trafficDistribution?: string;
    ports?: { name?: string; protocol?: string; port: number; targetPort?: number | string }[] | null;
  };
}

export interface SlicePort {
  name: string;
  protocol: string;
  port: number;
}

export interface SliceEndpoint {
  addresses: [string];
  conditions: { ready: boolean; serving: boolean; terminating: boolean };
  nodeName?: string;
  zone?: string;
  hints?: { forZones?: { name: string }[]; forNodes?: { name: string }[] };
  targetRef: { kind: "Pod"; name: string; namespace: string; uid?: string };
}

export interface SliceSpec {
  addressType: "IPv4" | "IPv6";
  ports: SlicePort[];
  endpoints: SliceEndpoint[];
}

export const MAX_ENDPOINTS_PER_SLICE = 100;

export function selects(selector: Record<string, string>, labels: Record<string, string> = {}): boolean {
  return Object.entries(selector).every(([k, v]) => labels[k] === v);
}

const CLOSE = new Set(["PreferClose", "PreferSameZone", "PreferSameNode"]);

/**
 * Slices for a Service, or undefined when the controller leaves it alone (no selector).
 * `zoneOf` gives a node's topology.kubernetes.io/zone label.
 */
export function desiredSlices(
  service: ServiceForSlices,
  pods: readonly Pod[],
  zoneOf: (node: string) => string | undefined = () => undefined,
): SliceSpec[] | undefined {
  const selector = service.spec.selector;
  if (!selector || Object.keys(selector).length === 0) return undefined;
  const namespace = service.metadata.namespace ?? "default";
  const families = service.spec.ipFamilies?.length ? service.spec.ipFamilies : ["IPv4" as const];
  const groups = new Map<string, SliceSpec>();

  const candidates = pods
    .filter((p) => (p.metadata.namespace ?? "default") === namespace && selects(selector, p.metadata.labels))
    .filter((p) => p.status?.phase !== "Succeeded" && p.status?.phase !== "Failed")
    .sort((a, b) => a.metadata.name.localeCompare(b.metadata.name));

  for (const pod of candidates) {
    const ports = portsFor(service, pod);
    if (ports === undefined) continue; // a named targetPort the Pod does not declare: the Pod is skipped
    const podReady = pod.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True") ?? false;
    const terminating = pod.metadata.deletionTimestamp !== undefined;
    const ready = terminating ? false : podReady || service.spec.publishNotReadyAddresses === true;
    const ips = pod.status?.podIPs?.map((x) => x.ip) ?? (pod.status?.podIP ? [pod.status.podIP] : []);
    for (const family of families) {
      const ip = ips.find((a) => (family === "IPv6") === a.includes(":"));
      if (ip === undefined) continue;
      const key = `${family}|${JSON.stringify(ports)}`;
      const group = groups.get(key) ?? { addressType: family, ports, endpoints: [] };
      groups.set(key, group);
      const endpoint: SliceEndpoint = {
        addresses: [ip],
        conditions: { ready, serving: podReady, terminating },
        targetRef: {
          kind: "Pod",
          name: pod.metadata.name,
          namespace,
          ...(pod.metadata.uid ? { uid: pod.metadata.uid } : {}),
        },
      };
      const node = pod.spec?.nodeName;
      if (node) endpoint.nodeName = node;
      const zone = node ? zoneOf(node) : undefined;
      if (zone) endpoint.zone = zone;
      const hints = hintsFor(service.spec.trafficDistribution, ready, zone, node);
      if (hints) endpoint.hints = hints;
      group.endpoints.push(endpoint);
    }
  }

  const slices: SliceSpec[] = [];
  for (const g of groups.values()) {
    for (let i = 0; i < g.endpoints.length; i += MAX_ENDPOINTS_PER_SLICE) {
      slices.push({ ...g, endpoints: g.endpoints.slice(i, i + MAX_ENDPOINTS_PER_SLICE) });
    }
  }
  return slices;
}

/** The trafficdist package's hints for one endpoint; none for other distributions or not-ready ones. */
function hintsFor(
  distribution: string | undefined,
  ready: boolean,
  zone: string | undefined,
  node: string | undefined,
): SliceEndpoint["hints"] {
  if (!ready || distribution === undefined || !CLOSE.has(distribution)) return undefined;
  const forNodes = distribution === "PreferSameNode" && node ? [{ name: node }] : undefined;
  if (!zone && !forNodes) return undefined;
  return { ...(zone ? { forZones: [{ name: zone }] } : {}), ...(forNodes ? { forNodes } : {}) };
}

/** The slice ports for one Pod: each Service port's targetPort resolved against the Pod's containers. */
function portsFor(service: ServiceForSlices, pod: Pod): SlicePort[] | undefined {
  const out: SlicePort[] = [];
  for (const sp of service.spec.ports ?? []) {
    const protocol = sp.protocol ?? "TCP";
    const target = sp.targetPort ?? sp.port;
    let port: number | undefined;
    if (typeof target === "number") port = target;
    else {
      port = pod.spec?.containers
        ?.flatMap((c) => c.ports ?? [])
        .find((cp) => cp.name === target && (cp.protocol ?? "TCP") === protocol)?.containerPort;
    }
    if (port === undefined) return undefined;
    out.push({ name: sp.name ?? "", protocol, port });
  }
  return out;
}
