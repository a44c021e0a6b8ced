// NodeRules from untrusted JSON (what the node-rules agent reads from its socket): every field
// checked, every address and CIDR in the spelling the renderer makes, or one error naming the
// first bad field. What passes can only become `table inet kube-nftlb` (node-rules.ts).
import { parseCidr } from "../annotations/source-ranges.ts";
import { parseIp } from "./desired-ip.ts";
import type { Destination, Firewall, NodeRules, NoEndpoints } from "./node-rules.ts";

export type Parsed<T> = { ok: true; value: T } | { ok: false; error: string };

const isRecord = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v);

function destination(v: unknown, at: string): Parsed<Destination> {
  if (!isRecord(v)) return { ok: false, error: `${at}: not an object` };
  const { family, protocol, ip, port } = v;
  if (family !== "ipv4" && family !== "ipv6") return { ok: false, error: `${at}.family: ipv4 or ipv6` };
  if (protocol !== "tcp" && protocol !== "udp" && protocol !== "sctp")
    return { ok: false, error: `${at}.protocol: tcp, udp or sctp` };
  const parsed = parseIp(ip);
  if (parsed === undefined || parsed.family !== family || parsed.address !== ip)
    return { ok: false, error: `${at}.ip: not a canonical ${family} address: ${JSON.stringify(ip)}` };
  if (typeof port !== "number" || !Number.isInteger(port) || port < 1 || port > 65535)
    return { ok: false, error: `${at}.port: an integer from 1 to 65535` };
  return { ok: true, value: { family, protocol, ip: parsed.address, port } };
}

export function parseNodeRules(v: unknown): Parsed<NodeRules> {
  if (!isRecord(v) || !Array.isArray(v.noEndpoints) || !Array.isArray(v.firewall))
    return { ok: false, error: "rules: an object with the arrays noEndpoints and firewall" };
  const noEndpoints: NoEndpoints[] = [];
  for (const [i, e] of (v.noEndpoints as unknown[]).entries()) {
    const at = `noEndpoints[${i}]`;
    const d = destination(e, at);
    if (!d.ok) return d;
    const verdict = (e as Record<string, unknown>).verdict;
    if (verdict !== "reject" && verdict !== "drop")
      return { ok: false, error: `${at}.verdict: reject or drop` };
    noEndpoints.push({ ...d.value, verdict });
  }
  const firewall: Firewall[] = [];
  for (const [i, e] of (v.firewall as unknown[]).entries()) {
    const at = `firewall[${i}]`;
    const d = destination(e, at);
    if (!d.ok) return d;
    const allow = (e as Record<string, unknown>).allow;
    if (!Array.isArray(allow)) return { ok: false, error: `${at}.allow: an array of CIDRs` };
    for (const [j, c] of (allow as unknown[]).entries()) {
      const cidr = parseCidr(c);
      if (cidr === undefined || cidr.family !== d.value.family || cidr.text !== c)
        return {
          ok: false,
          error: `${at}.allow[${j}]: not a canonical ${d.value.family} CIDR: ${JSON.stringify(c)}`,
        };
    }
    firewall.push({ ...d.value, allow: allow as string[] });
  }
  return { ok: true, value: { noEndpoints, firewall } };
}
