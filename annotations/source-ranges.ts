// `spec.loadBalancerSourceRanges`: the sources a LoadBalancer's IPs accept. kube-nftlb enforces
// them as kube-proxy does (on the LoadBalancer ingress IPs only, syncer/node-rules.ts); this module
// reads the CIDRs and says, in words an admission warning and an Event can carry, where a node
// cannot enforce them — never silently open.
import { isIPv4, isIPv6 } from "node:net";
import type { Service } from "./service.ts";

export type CidrFamily = "ipv4" | "ipv6";

export interface Cidr {
  family: CidrFamily;
  /** Network address with host bits cleared, then `/prefix` (what nft prints back). */
  text: string;
  network: bigint;
  prefix: number;
}

export interface SourceRangesFinding {
  key: string;
  message: string;
}

const KEY = "spec.loadBalancerSourceRanges";

function ipv6Bits(address: string): bigint | undefined {
  if (!isIPv6(address) || address.includes("%")) return undefined;
  let text = address;
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (v4) {
    const b = ipv4Bits(v4[1]!);
    if (b === undefined) return undefined;
    text = `${text.slice(0, -v4[1]!.length)}${(b >> 16n).toString(16)}:${(b & 0xffffn).toString(16)}`;
  }
  const [head = "", tail] = text.split("::");
  const groups = (s: string) => (s === "" ? [] : s.split(":"));
  const h = groups(head);
  const t = tail === undefined ? [] : groups(tail);
  const all = tail === undefined ? h : [...h, ...Array<string>(8 - h.length - t.length).fill("0"), ...t];
  if (all.length !== 8) return undefined;
  return all.reduce((acc, g) => (acc << 16n) | BigInt(parseInt(g, 16)), 0n);
}

const ipv4Bits = (address: string): bigint | undefined =>
  isIPv4(address) ? address.split(".").reduce((acc, o) => (acc << 8n) | BigInt(Number(o)), 0n) : undefined;

function bitsToText(family: CidrFamily, bits: bigint): string {
  if (family === "ipv4") return [24n, 16n, 8n, 0n].map((s) => String((bits >> s) & 0xffn)).join(".");
  const groups = [112n, 96n, 80n, 64n, 48n, 32n, 16n, 0n].map((s) => ((bits >> s) & 0xffffn).toString(16));
  // RFC 5952: the longest run of two or more zero groups becomes "::".
  let best = { at: -1, len: 0 };
  for (let i = 0; i < 8;) {
    let j = i;
    while (j < 8 && groups[j] === "0") j++;
    if (j - i > best.len && j - i >= 2) best = { at: i, len: j - i };
    i = j === i ? i + 1 : j;
  }
  if (best.at < 0) return groups.join(":");
  return `${groups.slice(0, best.at).join(":")}::${groups.slice(best.at + best.len).join(":")}`;
}

/** An IP address as bits, with its family; undefined when it is not one. */
export function addressBits(address: string): { family: CidrFamily; bits: bigint } | undefined {
  const v4 = ipv4Bits(address);
  if (v4 !== undefined) return { family: "ipv4", bits: v4 };
  const v6 = ipv6Bits(address);
  return v6 === undefined ? undefined : { family: "ipv6", bits: v6 };
}

/** `10.0.0.0/8`, `2001:db8::/32`; a bare address is a host route. Host bits are cleared. */
export function parseCidr(raw: unknown): Cidr | undefined {
  if (typeof raw !== "string") return undefined;
  const [address = "", prefixText, extra] = raw.trim().split("/");
  if (extra !== undefined) return undefined;
  const ip = addressBits(address);
  if (ip === undefined) return undefined;
  const width = ip.family === "ipv4" ? 32 : 128;
  if (prefixText !== undefined && !/^\d{1,3}$/.test(prefixText)) return undefined;
  const prefix = prefixText === undefined ? width : Number(prefixText);
  if (prefix > width) return undefined;
  const hostBits = BigInt(width - prefix);
  const network = (ip.bits >> hostBits) << hostBits;
  return { family: ip.family, text: `${bitsToText(ip.family, network)}/${prefix}`, network, prefix };
}

export function cidrContains(cidr: Cidr, address: string): boolean {
  const ip = addressBits(address);
  if (ip === undefined || ip.family !== cidr.family) return false;
  const hostBits = BigInt((cidr.family === "ipv4" ? 32 : 128) - cidr.prefix);
  return ip.bits >> hostBits === cidr.network >> hostBits;
}

export interface SourceRanges {
  /** Whether the Service sets any (even if none is valid: then every source is refused). */
  given: boolean;
  cidrs: Cidr[];
  /** Entries that are no CIDR: skipped, so the range allows less, never more. */
  invalid: string[];
}

export function readSourceRanges(service: Service): SourceRanges {
  const raw: unknown = (service.spec as Record<string, unknown>).loadBalancerSourceRanges;
  const values = Array.isArray(raw) ? (raw as unknown[]) : [];
  const cidrs: Cidr[] = [];
  const invalid: string[] = [];
  for (const v of values) {
    const c = parseCidr(v);
    if (c === undefined) invalid.push(JSON.stringify(v));
    else if (!cidrs.some((x) => x.text === c.text)) cidrs.push(c);
  }
  return { given: values.length > 0, cidrs, invalid };
}

/**
 * What a user should hear about the source ranges of this Service, from its spec alone (so
 * admission can say it): entries that are no CIDR, ranges on a Service that is no LoadBalancer,
 * and the NodePorts a LoadBalancer keeps open to every source (kube-proxy does not restrict them
 * either; a cloud load balancer that sends traffic to NodePorts must enforce the ranges itself).
 */
export function sourceRangeWarnings(service: Service): SourceRangesFinding[] {
  const ranges = readSourceRanges(service);
  if (!ranges.given) return [];
  const out: SourceRangesFinding[] = [];
  if (ranges.invalid.length > 0) {
    out.push({
      key: KEY,
      message: `${ranges.invalid.join(", ")} ${ranges.invalid.length === 1 ? "is" : "are"} not a CIDR: skipped (those sources are refused, not allowed)`,
    });
  }
  const type = service.spec.type ?? "ClusterIP";
  if (type !== "LoadBalancer") {
    out.push({
      key: KEY,
      message: `applies only to type LoadBalancer; this ${type} Service's addresses accept every source`,
    });
    return out;
  }
  const spec = service.spec as Record<string, unknown>;
  if (spec.allocateLoadBalancerNodePorts !== false && (service.spec.ports ?? []).length > 0) {
    out.push({
      key: KEY,
      message:
        "enforced on the load balancer's IPs only: this Service's nodePorts accept every source on every node " +
        "(as with kube-proxy); set spec.allocateLoadBalancerNodePorts: false if the load balancer does not need them",
    });
  }
  return out;
}
