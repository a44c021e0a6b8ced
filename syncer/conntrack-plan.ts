// UDP conntrack cleanup, kube-proxy's semantics (pkg/proxy/conntrack/cleanup.go), pure.
//
// UDP has no connection to end: a client with a fixed source port (every DNS resolver) keeps its
// conntrack entry, hence its backend, for as long as it keeps sending. So after each write, for
// every UDP Service address (ClusterIP, node address on the NodePort, externalIP, LB IP) of the
// farms written that has serving backends, an entry whose original destination is that
// address:port and whose reply comes from anything but one of those backends is stale and is
// deleted:
// - the backend stopped serving or went away: its flows move to a serving one on their next packet;
// - the Service had no backends when the flow began: the entry was never DNATed (its reply source
//   is the Service address itself), and deleting it lets nftlb balance the next packet.
// A Service address without backends is left alone (there is nowhere better to send its flows).
// The backends are those nftlb balances to (its farm's), read back after the write.
import type { Farm } from "../nftlb/types.ts";
import { parseIp } from "../nftlb/ip.ts";

/** One UDP conntrack entry: the original destination and where the reply comes from. */
export interface Flow {
  family: "ipv4" | "ipv6";
  origDst: string;
  origDport: number;
  replySrc: string;
}

/** A UDP Service address and the backend addresses serving it. */
export interface UdpFrontend {
  family: "ipv4" | "ipv6";
  ip: string;
  port: number;
  serving: ReadonlySet<string>;
}

/** `conntrack -D` arguments for one stale flow. */
export type Deletion = Flow;

/** The UDP addresses of nftlb's farms with their `up` backends (farms without any are skipped). */
export function udpFrontends(farms: Iterable<Farm>): UdpFrontend[] {
  const out: UdpFrontend[] = [];
  for (const f of farms) {
    const serving = new Set(
      f.backends
        .filter((b) => b.state === "up")
        .map((b) => parseIp(b["ip-addr"])?.address)
        .filter((a): a is string => a !== undefined),
    );
    if (serving.size === 0) continue;
    for (const a of f.addresses) {
      const ip = parseIp(a["ip-addr"]);
      const port = Number(a.ports);
      if (a.protocol !== "udp" || ip === undefined || !Number.isInteger(port) || port < 1 || port > 65535)
        continue;
      out.push({ family: ip.family, ip: ip.address, port, serving });
    }
  }
  return out;
}

/**
 * `conntrack -L -p udp` output → flows. Lines it cannot read (garbage, other protocols, a
 * summary line) are counted in `skipped`, never thrown on.
 * A line: `udp 17 29 src=A dst=B sport=P dport=Q [UNREPLIED] src=B dst=A sport=Q dport=P mark=0 use=1`.
 */
export function parseConntrackList(text: string): { flows: Flow[]; skipped: number } {
  const flows: Flow[] = [];
  let skipped = 0;
  for (const line of text.split("\n")) {
    if (line.trim() === "") continue;
    const words = line.trim().split(/\s+/);
    const proto = words.find((w) => w === "udp" || w === "tcp" || w === "sctp" || w === "icmp");
    const src = words.filter((w) => w.startsWith("src=")).map((w) => w.slice(4));
    const dst = words.find((w) => w.startsWith("dst="))?.slice(4);
    const dport = words.find((w) => w.startsWith("dport="))?.slice(6);
    const origDst = parseIp(dst);
    const replySrc = parseIp(src[1]);
    const port = Number(dport);
    if (
      proto !== "udp" ||
      origDst === undefined ||
      replySrc === undefined ||
      origDst.family !== replySrc.family ||
      !/^\d{1,5}$/.test(dport ?? "") ||
      port < 1 ||
      port > 65535
    ) {
      skipped++;
      continue;
    }
    flows.push({
      family: origDst.family,
      origDst: origDst.address,
      origDport: port,
      replySrc: replySrc.address,
    });
  }
  return { flows, skipped };
}

/** The flows to delete: to a served UDP address:port, answered by no serving backend. Deduplicated. */
export function staleFlows(flows: readonly Flow[], frontends: readonly UdpFrontend[]): Deletion[] {
  const byAddress = new Map(frontends.map((f) => [`${f.ip} ${f.port}`, f]));
  const seen = new Set<string>();
  const out: Deletion[] = [];
  for (const flow of flows) {
    const front = byAddress.get(`${flow.origDst} ${flow.origDport}`);
    if (front === undefined || front.serving.has(flow.replySrc)) continue;
    const id = `${flow.origDst} ${flow.origDport} ${flow.replySrc}`;
    if (seen.has(id)) continue;
    seen.add(id);
    out.push(flow);
  }
  return out;
}
