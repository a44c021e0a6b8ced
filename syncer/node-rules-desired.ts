// What kube-nftlb's own table (node-rules.ts) must hold on this node. Pure.
//
// - desired.ts asks farmRules() for each farm it makes: the verdict its destinations get while it
//   has no backend (kube-proxy's: reject when the Service port has no endpoint anywhere, drop
//   when a Local policy finds none on this node), and the firewall of its LoadBalancer IPs.
// - Before and after each write, nodeRulesFrom() takes the farms nftlb holds and the farms about
//   to be written: a destination is refused while either has no backend for it. The check runs
//   after DNAT (node-rules.ts), so an entry for a farm nftlb still balances never matches: a
//   Service losing its last endpoint is refused from the moment nftlb stops balancing it, and
//   one gaining endpoints is balanced from the moment nftlb starts. A firewall is installed for
//   every farm nftlb holds or is about to get, before the write: a restricted LoadBalancer IP is
//   never balanced unrestricted.
// - Every backend address of a `dnat` farm nftlb holds or is about to get is a hairpin address
//   (node-rules.ts masquerades it when it reaches itself); a snat farm masquerades everything
//   already and a dsr farm's replies never pass the node.
import { cidrContains, type SourceRanges } from "../annotations/source-ranges.ts";
import type { Service } from "../annotations/index.ts";
import type { Address, Backend, Family, Farm, NftlbProtocol } from "../nftlb/types.ts";
import { parseIp } from "../nftlb/ip.ts";
import type { Destination, Firewall, Hairpin, NodeRules, Verdict } from "./node-rules.ts";

/** The table's share of one Service (on DesiredService). */
export interface ServiceNodeRules {
  /** Farm name → verdict while it has no backend (absent: reject). */
  verdicts: Record<string, Verdict>;
  firewall: (Firewall & { farm: string })[];
}

export interface FarmRulesInput {
  farm: string;
  family: Family;
  protocol: NftlbProtocol;
  port: number;
  backends: readonly Backend[];
  /** Whether a Local policy chose the backends (then "none here" may still mean "some elsewhere"). */
  local: boolean;
  /** The same selection without the node filter is not empty (asked only when needed). */
  endpointsElsewhere: () => boolean;
  /** The farm's LoadBalancer ingress IPs of its family. */
  loadBalancerIps: readonly string[];
  ranges: SourceRanges;
  /** The node's own addresses: a range holding one lets the node reach the LB IPs (kube-proxy). */
  nodeIps: readonly string[];
}

export function farmRules(into: ServiceNodeRules, f: FarmRulesInput): void {
  if (f.backends.length === 0 && f.local && f.endpointsElsewhere()) into.verdicts[f.farm] = "drop";
  if (!f.ranges.given) return;
  const allow = f.ranges.cidrs.filter((c) => c.family === f.family);
  const fromNode = allow.some((c) => f.nodeIps.some((ip) => cidrContains(c, ip)));
  const texts = [
    ...allow.map((c) => c.text),
    // As kube-proxy: a VIP-like load balancer often puts the LB IP on the node, so the node's
    // own requests to it leave with the LB IP as their source.
    ...(fromNode ? f.loadBalancerIps.map((ip) => `${ip}/${f.family === "ipv4" ? 32 : 128}`) : []),
  ];
  for (const ip of f.loadBalancerIps) {
    into.firewall.push({
      farm: f.farm,
      family: f.family,
      protocol: f.protocol,
      ip,
      port: f.port,
      allow: [...new Set(texts)],
    });
  }
}

function destination(farm: Farm, a: Address): Destination | undefined {
  const ip = parseIp(a["ip-addr"]);
  if (ip === undefined || !/^\d{1,5}$/.test(a.ports)) return undefined;
  return { family: ip.family, protocol: a.protocol ?? farm.protocol, ip: ip.address, port: Number(a.ports) };
}

function hairpinOf(farm: Farm): Hairpin[] {
  return farm.backends.flatMap((b) => {
    const ip = parseIp(b["ip-addr"]);
    return ip === undefined ? [] : [{ family: ip.family, ip: ip.address }];
  });
}

/** What one farm puts in the table whatever desired says of it (parsed once per farm object). */
export interface FarmShare {
  /** Its destinations when no backend is `up` (refused with the farm's verdict), else none. */
  unreached: Destination[];
  /** Its backends when it is a `dnat` farm. */
  hairpin: Hairpin[];
  /** Its destinations when nftlb DNATs them (snat or dnat mode, a backend `up`), else none. */
  balanced: Destination[];
}

export function farmShare(farm: Farm): FarmShare {
  const up = farm.backends.some((b) => b.state === "up");
  const destinations = () => farm.addresses.flatMap((a) => destination(farm, a) ?? []);
  return {
    hairpin: farm.mode === "dnat" ? hairpinOf(farm) : [],
    unreached: up ? [] : destinations(),
    // dsr and stlsdnat rewrite at the netdev ingress hook: their packets never reach prerouting
    // with the VIP, so only the modes nftlb DNATs in prerouting are listed.
    balanced: up && (farm.mode === "snat" || farm.mode === "dnat") ? destinations() : [],
  };
}

/**
 * farmShare, remembered per farm object. nftlb's client replaces a farm's object when it reads or
 * writes it, and desired's farms are new objects only for the Services a pass plans: so a pass
 * parses the farms it touches, not every farm of the node twice (before and after its write).
 */
export function rememberedShares(share: (farm: Farm) => FarmShare = farmShare): (farm: Farm) => FarmShare {
  const memo = new WeakMap<Farm, FarmShare>();
  return (farm) => {
    let s = memo.get(farm);
    if (s === undefined) memo.set(farm, (s = share(farm)));
    return s;
  };
}

/**
 * The table's content from the farms nftlb holds (`owns`: kube-nftlb's), the farms planned, and
 * what desired said of them. A farm with no backend `up` is a Service with nothing to reach.
 * `share`: how a farm's part is computed (rememberedShares() to parse each farm object once).
 */
export function nodeRulesFrom(
  actual: Iterable<Farm>,
  desired: Iterable<{ nodeRules?: ServiceNodeRules }>,
  opts: { owns: (farm: string) => boolean; planned: readonly Farm[]; share?: (farm: Farm) => FarmShare },
): NodeRules {
  const { owns, share = farmShare } = opts;
  const planned = new Set(opts.planned.map((f) => f.name));
  const verdicts = new Map<string, Verdict>();
  const firewalls: ServiceNodeRules["firewall"] = [];
  for (const d of desired) {
    for (const [farm, v] of Object.entries(d.nodeRules?.verdicts ?? {})) verdicts.set(farm, v);
    firewalls.push(...(d.nodeRules?.firewall ?? []));
  }
  const held = new Set<string>();
  const balanced: Destination[] = [];
  const rules: NodeRules = { noEndpoints: [], firewall: [], hairpin: [], balanced };
  for (const farm of [...actual, ...opts.planned]) {
    if (!owns(farm.name)) continue;
    held.add(farm.name);
    const { unreached, hairpin } = share(farm);
    rules.hairpin.push(...hairpin);
    balanced.push(...share(farm).balanced);
    if (unreached.length === 0) continue;
    const verdict = verdicts.get(farm.name) ?? "reject";
    for (const d of unreached) rules.noEndpoints.push({ ...d, verdict });
  }
  for (const { farm, ...fw } of firewalls) if (held.has(farm) || planned.has(farm)) rules.firewall.push(fw);
  return rules;
}

/**
 * Ingress entries this node never sees the client behind: `ipMode: Proxy` (the load balancer
 * terminates the connection; kube-proxy leaves those IPs alone too) or a hostname without an IP
 * (the load balancer forwards to NodePorts). Their source ranges are the load balancer's to enforce.
 */
export function proxiedIngress(service: Service): { severity: "warning"; key: string; message: string }[] {
  const ingress = service.status?.loadBalancer?.ingress ?? [];
  const named = ingress
    .filter((i) => i.ipMode === "Proxy" || typeof i.ip !== "string")
    .map((i) => (typeof i.ip === "string" ? i.ip : typeof i.hostname === "string" ? i.hostname : "?"));
  if (named.length === 0) return [];
  return [
    {
      severity: "warning",
      key: "spec.loadBalancerSourceRanges",
      message: `not enforced by the node for ${named.join(", ")}: the load balancer proxies them (ipMode Proxy or a hostname), so the node never sees the client's address; the load balancer must enforce the ranges`,
    },
  ];
}
