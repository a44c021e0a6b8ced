// kube-nftlb's own nftables table, `table inet kube-nftlb`, beside nftlb's `ip/ip6/netdev nftlb`:
// the verdicts nftlb 1.0.7 has no words for. Pure: the node's rules in, one nft script out.
//
// What it holds, after kube-proxy's nftables proxier (pkg/proxy/nftables/proxier.go):
// - Destinations of Services with no endpoints (`ip . proto . port`) → reject: the client's
//   connect fails at once (TCP reset, ICMP port unreachable for the rest) instead of the packet
//   being masqueraded toward the node's default route. A `Local` policy with no local endpoint
//   (but endpoints elsewhere) → drop, as kube-proxy does.
// - LoadBalancer IPs with `loadBalancerSourceRanges` → a chain dropping every other source.
// - Hairpin: every backend address of a `dnat` farm, paired with itself (`ip saddr . ip daddr`).
//   A Pod reaching itself through such a farm is DNATed to its own address, so its reply would
//   never pass the node and the connection times out; a DNATed packet whose source is the
//   endpoint it was sent to is masqueraded, as kube-proxy does. Nothing else is: the `Local`
//   client's packets keep its address. The chain hangs at postrouting, priority srcnat + 10: a
//   packet nftlb's own postrouting chain (srcnat) masquerades is NATed already and never reaches
//   it (the kernel runs later nat chains of a hook only while no earlier one bound a NAT).
//
// Hooks and priorities after kube-proxy's: `reject` is valid only in input, forward and output,
// so the no-endpoint check hangs there; the firewall check must see the LB IP before nftlb's DNAT
// (prerouting and output, priority dstnat) rewrites it, so it runs at -110 (dstnat - 10, as
// kube-proxy) in prerouting and output. The no-endpoint check always runs after DNAT: input and
// forward come after prerouting anyway, and on output it sits at -90 (dstnat + 10, where
// kube-proxy checks ClusterIPs after DNAT). So a packet nftlb balances never matches it, whatever
// the order in which nftlb and this table are written (kube-proxy writes both in one transaction;
// kube-nftlb cannot).
//
// - Straddlers: a new packet to a destination nftlb balances that nftlb's nat chain left
//   un-DNATed → drop, at prerouting after DNAT (dstnat + 10). nftlb rewrites a farm by replacing
//   its rules, each with a fresh anonymous map; a SYN whose walk of nftlb's chain began before such
//   a commit and reaches the map after it finds none of the map's elements (the kernel looks them
//   up in the generation current at the lookup, and the commit retired them: docs/nftlb.md), and
//   would go on un-DNATed — answered net unreachable, or routed away — with a conntrack entry
//   whose null binding keeps every retransmission un-DNATed too. Dropped here, before conntrack
//   confirms it, the entry goes with the packet, and the client's retransmitted SYN (1 s later)
//   is balanced afresh: a connection delayed, not lost. Not on output: a local sender would get
//   EPERM at once. A destination also refused for having no endpoint is left to the refusal.
//
// The script replaces the whole table in one `nft -f` transaction (add, delete, define: the
// kernel sees the old table or the new one, never a mix) and never names nftlb's tables.
import type { Family, NftlbProtocol } from "../nftlb/types.ts";
import { sanitizeAddress } from "./desired-names.ts";

export const TABLE = "kube-nftlb";
export const TABLE_FAMILY = "inet";

export type Verdict = "reject" | "drop";

/** One destination of a farm: an address (ClusterIP, node IP for NodePorts, external, LB IP). */
export interface Destination {
  family: Family;
  protocol: NftlbProtocol;
  /** Canonical spelling (nftlb/ip.ts). */
  ip: string;
  port: number;
}

export interface NoEndpoints extends Destination {
  verdict: Verdict;
}

export interface Firewall extends Destination {
  /** Source CIDRs allowed, all of `family`, canonical (network address/prefix); [] = none. */
  allow: string[];
}

/** A backend address of a dnat farm: masqueraded when it reaches itself (canonical spelling). */
export interface Hairpin {
  family: Family;
  ip: string;
}

export interface NodeRules {
  noEndpoints: NoEndpoints[];
  firewall: Firewall[];
  hairpin: Hairpin[];
  /**
   * Destinations nftlb DNATs every new connection of (a snat or dnat farm with a backend up): a
   * new packet to one still not DNATed after nftlb's nat chain is dropped (see the file's head).
   */
  balanced?: Destination[];
}

export const EMPTY_RULES: NodeRules = { noEndpoints: [], firewall: [], hairpin: [] };

// dstnat (-100) - 10 and + 10, as numbers: nft accepts the name `dstnat` only on the
// prerouting and output hooks.
const BEFORE_DNAT = -110;
const AFTER_DNAT = -90;
// srcnat (100) + 10: after nftlb's masquerade (see above).
const AFTER_SRCNAT = 110;
const REJECT_CHAIN = "reject-chain";

const key = (d: Destination): string => `${d.ip} . ${d.protocol} . ${d.port}`;
const suffix = (f: Family): string => (f === "ipv6" ? "-v6" : "");
const addrType = (f: Family): string => (f === "ipv6" ? "ipv6_addr" : "ipv4_addr");
const ipx = (f: Family): string => (f === "ipv6" ? "ip6" : "ip");
/** One chain per firewalled LB destination; nft identifiers start with a letter, no ':'. */
export const firewallChain = (d: Destination): string =>
  `fw-${d.protocol}-${sanitizeAddress(d.ip)}-${d.port}`;

/** The first entry for a destination wins (nft refuses a map with one key twice). */
function uniqueByKey<T extends Destination>(list: readonly T[]): T[] {
  const seen = new Set<string>();
  return list.filter((d) => {
    const k = `${d.family}|${key(d)}`;
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}

/** Sorted so that equal rules render to equal text whatever the order they came in. */
const byKey = (a: Destination, b: Destination): number =>
  a.family === b.family ? (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0) : a.family === "ipv4" ? -1 : 1;

function map(name: string, family: Family, elements: string[]): string[] {
  return [
    `  map ${name}${suffix(family)} {`,
    `    type ${addrType(family)} . inet_proto . inet_service : verdict`,
    ...(elements.length > 0 ? [`    elements = {`, ...elements.map((e) => `      ${e},`), `    }`] : []),
    `  }`,
  ];
}

const baseChain = (
  name: string,
  hook: string,
  priority: number,
  rules: string[],
  type = "filter",
): string[] => [
  `  chain ${name} {`,
  `    type ${type} hook ${hook} priority ${priority}; policy accept;`,
  ...rules.map((r) => `    ${r}`),
  `  }`,
];

const lookup = (family: Family, mapName: string): string =>
  `${ipx(family)} daddr . meta l4proto . th dport vmap @${mapName}${suffix(family)}`;

/** The table's full content as an nft script that replaces whatever the table held. */
export function renderNodeRules(rules: NodeRules): string {
  const noEndpoints = uniqueByKey(rules.noEndpoints).sort(byKey);
  const firewall = uniqueByKey(rules.firewall).sort(byKey);
  const hairpin = [...new Set(rules.hairpin.map((h) => `${h.family}|${h.ip}`))].sort();
  const refused = new Set(noEndpoints.map((d) => `${d.family}|${key(d)}`));
  const balanced = uniqueByKey(rules.balanced ?? [])
    .filter((d) => !refused.has(`${d.family}|${key(d)}`))
    .sort(byKey);
  const families: Family[] = ["ipv4", "ipv6"];
  const lines = [
    ...declareEmpty(),
    `table ${TABLE_FAMILY} ${TABLE} {`,
    ...families.flatMap((f) =>
      map(
        "no-endpoint-services",
        f,
        noEndpoints
          .filter((d) => d.family === f)
          .map((d) => `${key(d)} : ${d.verdict === "reject" ? `goto ${REJECT_CHAIN}` : "drop"}`),
      ),
    ),
    ...families.flatMap((f) =>
      map(
        "firewall-ips",
        f,
        firewall.filter((d) => d.family === f).map((d) => `${key(d)} : goto ${firewallChain(d)}`),
      ),
    ),
    ...families.flatMap((f) => [
      `  set balanced${suffix(f)} {`,
      `    type ${addrType(f)} . inet_proto . inet_service`,
      ...(balanced.some((d) => d.family === f)
        ? [
            `    elements = {`,
            ...balanced.filter((d) => d.family === f).map((d) => `      ${key(d)},`),
            `    }`,
          ]
        : []),
      `  }`,
    ]),
    ...families.flatMap((f) => {
      const ips = hairpin.filter((h) => h.startsWith(`${f}|`)).map((h) => h.slice(f.length + 1));
      return [
        `  set hairpin${suffix(f)} {`,
        `    type ${addrType(f)} . ${addrType(f)}`,
        ...(ips.length > 0 ? [`    elements = {`, ...ips.map((ip) => `      ${ip} . ${ip},`), `    }`] : []),
        `  }`,
      ];
    }),
    // TCP gets a reset (connect() fails with ECONNREFUSED), everything else ICMP port unreachable.
    `  chain ${REJECT_CHAIN} {`,
    `    meta l4proto tcp reject with tcp reset`,
    `    reject with icmpx type port-unreachable`,
    `  }`,
    `  chain endpoints-check {`,
    ...families.map((f) => `    ${lookup(f, "no-endpoint-services")}`),
    `  }`,
    `  chain firewall-check {`,
    ...families.map((f) => `    ${lookup(f, "firewall-ips")}`),
    `  }`,
    ...firewall.flatMap((d) => [
      `  chain ${firewallChain(d)} {`,
      d.allow.length > 0 ? `    ${ipx(d.family)} saddr != { ${d.allow.join(", ")} } drop` : `    drop`,
      `  }`,
    ]),
    ...baseChain("filter-prerouting", "prerouting", BEFORE_DNAT, ["ct state new jump firewall-check"]),
    ...baseChain("filter-output", "output", BEFORE_DNAT, ["ct state new jump firewall-check"]),
    ...baseChain(
      "filter-prerouting-post-dnat",
      "prerouting",
      AFTER_DNAT,
      families.map(
        (f) =>
          `ct state new ct status & dnat == 0 ${ipx(f)} daddr . meta l4proto . th dport @balanced${suffix(f)} drop`,
      ),
    ),
    ...baseChain("filter-input", "input", BEFORE_DNAT, ["ct state new jump endpoints-check"]),
    ...baseChain("filter-forward", "forward", BEFORE_DNAT, ["ct state new jump endpoints-check"]),
    ...baseChain("filter-output-post-dnat", "output", AFTER_DNAT, ["ct state new jump endpoints-check"]),
    ...baseChain(
      "nat-postrouting",
      "postrouting",
      AFTER_SRCNAT,
      families.map((f) => `ct status dnat ${ipx(f)} saddr . ${ipx(f)} daddr @hairpin${suffix(f)} masquerade`),
      "nat",
    ),
    `}`,
  ];
  return `${lines.join("\n")}\n`;
}

/** Creating the table first makes the delete valid whether or not it existed. */
const declareEmpty = (): string[] => [
  `table ${TABLE_FAMILY} ${TABLE} {}`,
  `delete table ${TABLE_FAMILY} ${TABLE}`,
];

/** Removes the table if it exists (and only it); harmless when it does not. */
export const removeScript = (): string => `${declareEmpty().join("\n")}\n`;
