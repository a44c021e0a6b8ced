// desired: one Service and its endpoints → the nftlb farms one node must have (SPEC §3). Pure:
// plain data in, plain data out, never throws — garbage in any field drops that piece and, where
// a user should hear of it, says so in `problems`.
//
// Farm layout for a Service port (names in desired-names.ts):
// - one farm per address family: nftlb 1.0.7 cannot balance both in one farm (`inet` installs
//   only the IPv4 half), so a dual-stack port gets `<ns>.<svc>.<port>` and `<ns>.<svc>.<port>.v6`;
// - a farm has one backend set, but `internalTrafficPolicy` governs the ClusterIPs and
//   `externalTrafficPolicy` the node, external and load-balancer addresses. When the two
//   policies select differently (one Local, the other Cluster), the external addresses move to
//   a second farm `<ns>.<svc>.<port>.ext` with its own backends. The split follows the policies,
//   not the current endpoints, so farms do not appear and vanish as Pods move between nodes.
// - a farm without addresses (e.g. the IPv6 farm of a single-stack Service) is not made.
import {
  evaluateService,
  externalPolicyLocal,
  farmMode,
  parseService,
  type ClusterDefaults,
  type ProxyScope,
  type Service,
} from "../annotations/index.ts";
import type { Address, Backend, Family, Farm, NftlbProtocol } from "../nftlb/types.ts";
import { selectBackends } from "./desired-backends.ts";
import { parseIp, type Ip } from "../nftlb/ip.ts";
import { addressName, farmName } from "./desired-names.ts";
import { groupsFromSlices, isRecord, optional as opt, type EndpointGroup } from "./endpoints.ts";
import { groupsFromEndpoints } from "./endpoints-v1.ts";
import { readSourceRanges } from "../annotations/source-ranges.ts";
import { farmRules, proxiedIngress, type ServiceNodeRules } from "./node-rules-desired.ts";
import { notUnicast } from "./endpoint-addresses.ts";

export interface NodeInfo {
  name: string;
  /** The node's own addresses (either family): NodePorts listen on each. */
  addresses: readonly string[];
  /** The Node's topology.kubernetes.io/zone label, for EndpointSlice zone hints. */
  zone?: string;
}

export interface DesiredOptions {
  /**
   * dsr: the interface client traffic arrives on, its MAC (`/sys/class/net/<iface>/address`),
   * and the interface toward the backends. All three or the farm is served in snat.
   */
  iface?: string;
  ifaceMac?: string;
  oface?: string;
  /** Cluster defaults for annotations that are absent or invalid. */
  defaults?: ClusterDefaults;
  /** Which Services this kube-nftlb balances (annotations/balanced.ts). */
  scope?: ProxyScope;
}

export interface Problem {
  severity: "error" | "warning";
  /** The annotation key or the field path concerned. */
  key: string;
  message: string;
}

export interface ServiceRef {
  namespace: string;
  name: string;
  /** RFC 3339; absent in hand-written manifests. Older Services win conflicts. */
  creationTimestamp?: string;
}

export interface DesiredService {
  service: ServiceRef;
  farms: Farm[];
  problems: Problem[];
  /** What kube-nftlb's own table needs for these farms (node-rules-desired.ts). */
  nodeRules?: ServiceNodeRules;
}

const PROTOCOLS: Record<"TCP" | "UDP" | "SCTP", NftlbProtocol> = { TCP: "tcp", UDP: "udp", SCTP: "sctp" };
const FAMILIES: readonly Family[] = ["ipv4", "ipv6"];

/** A Service with its EndpointSlices (those of other Services are ignored). */
export function desired(
  service: unknown,
  slices: readonly unknown[],
  node: NodeInfo,
  options: DesiredOptions = {},
): DesiredService {
  return withService(service, (s, ref) =>
    build(s, ref, groupsFromSlices(slices, ref.namespace, ref.name), node, options),
  );
}

/** The same from v1 Endpoints objects (`--endpoints-api endpoints`): identical farms for equal inputs. */
export function desiredFromEndpoints(
  service: unknown,
  endpoints: readonly unknown[],
  node: NodeInfo,
  options: DesiredOptions = {},
): DesiredService {
  return withService(service, (s, ref) =>
    build(s, ref, groupsFromEndpoints(endpoints, ref.namespace, ref.name), node, options),
  );
}

function withService(raw: unknown, then: (s: Service, ref: ServiceRef) => DesiredService): DesiredService {
  // Objects from a LIST carry no `kind`; the schema wants one.
  const parsed = parseService(isRecord(raw) && raw.kind === undefined ? { ...raw, kind: "Service" } : raw);
  const meta = isRecord(raw) && isRecord(raw.metadata) ? raw.metadata : {};
  const ref: ServiceRef = {
    namespace: typeof meta.namespace === "string" && meta.namespace !== "" ? meta.namespace : "default",
    name: typeof meta.name === "string" ? meta.name : "",
  };
  const created = timestamp(meta.creationTimestamp);
  if (created !== undefined) ref.creationTimestamp = created;
  if (!parsed.ok)
    return { service: ref, farms: [], problems: [{ severity: "error", key: "", message: parsed.error }] };
  if (ref.name === "") {
    return {
      service: ref,
      farms: [],
      problems: [{ severity: "error", key: "metadata.name", message: "a Service needs a name" }],
    };
  }
  return then(parsed.service, ref);
}

function build(
  service: Service,
  ref: ServiceRef,
  groups: EndpointGroup[],
  node: NodeInfo,
  options: DesiredOptions,
): DesiredService {
  const evaluation = evaluateService(service, {
    ...opt("defaults", options.defaults),
    ...opt("scope", options.scope),
  });
  const problems: Problem[] = [
    ...evaluation.errors.map((f) => ({
      severity: "error" as const,
      key: f.key,
      message: `${f.message} (ignored: the default applies)`,
    })),
    ...evaluation.warnings.map((f) => ({ severity: "warning" as const, ...f })),
  ];
  if (!evaluation.balanced.balanced) return { service: ref, farms: [], problems };

  groups = usableGroups(groups, problems);

  // stlsdnat is refused by the contract (annotations/contract.ts); dsr needs the node's side.
  const wantsDsr = evaluation.settings.mode === "dsr";
  const dsr = wantsDsr ? dsrNode(options, problems) : undefined;
  const settings =
    wantsDsr && dsr === undefined ? { ...evaluation.settings, mode: "snat" as const } : evaluation.settings;
  const ips = (values: readonly unknown[], key: string): Ip[] => readIps(values, key, problems);
  const spec = service.spec;
  const clusterIPs = ips(spec.clusterIPs ?? (spec.clusterIP ? [spec.clusterIP] : []), "spec.clusterIPs");
  const nodeIps = ips(Array.isArray(node.addresses) ? node.addresses : [], "node addresses");
  const externalIPs = ips(spec.externalIPs ?? [], "spec.externalIPs");
  const ingressIps = ips(lbIngress(service), "status.loadBalancer.ingress");
  const nodePorts = spec.type === "NodePort" || spec.type === "LoadBalancer";
  const ranges = readSourceRanges(service);
  const nodeRules: ServiceNodeRules = { verdicts: {}, firewall: [] };
  if (ranges.given) problems.push(...proxiedIngress(service));

  // kube-proxy's rules: the internal policy covers ClusterIPs; the external one only applies to
  // Services reachable from outside (NodePort, LoadBalancer, or with externalIPs).
  const internalLocal = spec.internalTrafficPolicy === "Local";
  const externalLocal = externalPolicyLocal(service);
  const split = internalLocal !== externalLocal;

  // A Service is served in the families of its ClusterIPs, as kube-proxy's per-family proxiers
  // do: a single-stack IPv4 NodePort is not opened on the node's IPv6 addresses.
  const families = FAMILIES.filter(
    (f) => clusterIPs.length === 0 || clusterIPs.some((ip) => ip.family === f),
  );
  const farms: Farm[] = [];
  for (const port of spec.ports ?? []) {
    if (!validPort(port.port)) {
      problems.push({
        severity: "error",
        key: "spec.ports",
        message: `port ${port.port} is not from 1 to 65535: skipped`,
      });
      continue;
    }
    const protocol = PROTOCOLS[port.protocol ?? "TCP"];
    const addr = (ip: Ip, p: number): Address => ({
      name: addressName(protocol, ip.address, p),
      family: ip.family,
      "ip-addr": ip.address,
      ports: String(p),
      protocol,
      // dsr: nftlb finds no local interface holding a ClusterIP, so each address names the one
      // client traffic arrives on and its MAC (a farm-level iface makes a broken default address).
      ...(dsr === undefined ? {} : { iface: dsr.iface, "ether-addr": dsr.mac }),
    });
    for (const family of families) {
      const mine = (list: Ip[]) => list.filter((ip) => ip.family === family);
      const internal = mine(clusterIPs).map((ip) => addr(ip, port.port));
      const external = [
        ...(nodePorts && port.nodePort !== undefined && validPort(port.nodePort)
          ? mine(nodeIps).map((ip) => addr(ip, port.nodePort!))
          : []),
        ...mine(externalIPs).map((ip) => addr(ip, port.port)),
        ...mine(ingressIps).map((ip) => addr(ip, port.port)),
      ];
      const sets = split
        ? [
            { external: false, addresses: internal, local: internalLocal },
            { external: true, addresses: external, local: externalLocal },
          ]
        : [{ external: false, addresses: [...internal, ...external], local: internalLocal }];
      const lbIps = mine(ingressIps).map((ip) => ip.address);
      for (const set of sets) {
        const addresses = unique(set.addresses);
        if (addresses.length === 0) continue;
        const backends = selectBackends(groups, {
          portName: port.name ?? "",
          protocol: port.protocol ?? "TCP",
          family,
          ...(set.local
            ? { localNode: node.name }
            : { topology: { name: node.name, ...opt("zone", node.zone) } }),
        });
        const name = farmName(ref.namespace, ref.name, port.name || String(port.port), set.external, family);
        farmRules(nodeRules, {
          farm: name,
          family,
          protocol,
          port: port.port,
          backends,
          local: set.local,
          endpointsElsewhere: () =>
            selectBackends(groups, { portName: port.name ?? "", protocol: port.protocol ?? "TCP", family })
              .length > 0,
          loadBalancerIps: set.external || !split ? lbIps : [],
          ranges,
          nodeIps: mine(nodeIps).map((ip) => ip.address),
        });
        // Per farm: dnat keeps the client's address where externalTrafficPolicy: Local promises it.
        const mode = farmMode(service, settings.mode, evaluation.modeSet, set.external || !split);
        farms.push({
          name,
          family,
          protocol,
          ...settings,
          mode,
          // Traffic from the node itself is balanced too (nftlb's output hook; SPEC §3). dsr is
          // programmed at the ingress hook only, where intra-connect has no effect.
          "intra-connect": dsr === undefined ? "on" : "off",
          ...(dsr === undefined ? {} : { oface: dsr.oface }),
          addresses,
          backends: dsr === undefined ? backends : keepClientPort(name, port.port, backends, problems),
        });
      }
    }
  }
  return { service: ref, farms, problems, nodeRules };
}

interface DsrNode {
  iface: string;
  mac: string;
  oface: string;
}

/** The node's side of a dsr farm, or an error problem (the farm is then served in snat). */
/** The groups without endpoints whose address is no unicast Pod address; each dropped one said once. */
function usableGroups(groups: EndpointGroup[], problems: Problem[]): EndpointGroup[] {
  const dropped = new Map<string, string>();
  const out = groups.map((g) => ({
    ...g,
    endpoints: g.endpoints.filter((e) => {
      const kind = notUnicast(e.address, e.family);
      if (kind !== undefined) dropped.set(e.address, `${kind} (${g.source})`);
      return kind === undefined;
    }),
  }));
  for (const [address, why] of dropped)
    problems.push({
      severity: "warning",
      key: "endpoints",
      message: `endpoint address ${address} is not a unicast Pod address: ${why}; not used as a backend`,
    });
  return out;
}

function dsrNode(options: DesiredOptions, problems: Problem[]): DsrNode | undefined {
  const { iface, ifaceMac: mac, oface } = options;
  if (iface && mac && oface) return { iface, mac, oface };
  problems.push({
    severity: "error",
    key: "node",
    message:
      "mode dsr needs the node's client-side interface, its MAC and the interface toward the backends " +
      "(syncer --iface/--oface): without them nftlb leaves the farm in config_error, so it is served in snat",
  });
  return undefined;
}

/**
 * dsr forwards frames: they keep the client's destination port, the Service port. Backends get
 * port "" (nftlb's "keep the port"). The contract already refuses a numeric targetPort ≠ port;
 * a named targetPort can only be checked here, on the endpoints' ports — a backend listening
 * elsewhere would never see the traffic, so say so.
 */
function keepClientPort(farm: string, port: number, backends: Backend[], problems: Problem[]): Backend[] {
  const elsewhere = [...new Set(backends.map((b) => b.port).filter((p) => p !== String(port)))];
  if (elsewhere.length > 0) {
    problems.push({
      severity: "warning",
      key: "spec.ports",
      message: `farm ${farm}: mode dsr keeps the destination port ${port}, but endpoints listen on ${elsewhere.join(", ")}: they will not answer`,
    });
  }
  return backends.map((b) => ({ ...b, port: "" }));
}

/** Valid addresses; each invalid one is reported once and left out (nft would refuse it). */
function readIps(values: readonly unknown[], key: string, problems: Problem[]): Ip[] {
  const out: Ip[] = [];
  for (const v of values) {
    const ip = parseIp(v);
    if (ip !== undefined) out.push(ip);
    else
      problems.push({
        severity: "error",
        key,
        message: `${JSON.stringify(v)} is not an IP address: skipped`,
      });
  }
  return out;
}

/**
 * Ingress IPs of a LoadBalancer, except those with `ipMode: Proxy`: kube-proxy leaves those to the
 * load balancer. Another type's leftover status is not programmed (kube-proxy reads it only for
 * type LoadBalancer; the API server clears it on a type change, but a stale cache may still hold it).
 */
function lbIngress(service: Service): unknown[] {
  if (service.spec.type !== "LoadBalancer") return [];
  const ingress = service.status?.loadBalancer?.ingress ?? [];
  return ingress.filter((i) => i.ipMode !== "Proxy" && i.ip !== undefined).map((i) => i.ip);
}

const unique = (addresses: Address[]): Address[] =>
  addresses.filter((a, i) => addresses.findIndex((b) => b.name === a.name) === i);
const validPort = (p: number): boolean => Number.isInteger(p) && p >= 1 && p <= 65535;

/**
 * creationTimestamp is a string in manifests and a Date in @kubernetes/client-node objects; both
 * become one ISO spelling so that they compare as strings.
 */
function timestamp(v: unknown): string | undefined {
  const date = v instanceof Date ? v : typeof v === "string" ? new Date(v) : undefined;
  return date === undefined || Number.isNaN(date.getTime()) ? undefined : date.toISOString();
}
