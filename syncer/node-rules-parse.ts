// NodeRules from untrusted JSON (what the node-rules agent reads from its socket): every field
// checked, every address and CIDR in the spelling the renderer makes, or one error naming the
// first bad field. What passes can only become `table inet kube-nftlb` (node-rules.ts).
import { parseCidr } from "../annotations/source-ranges.ts";
import { parseIp } from "../nftlb/ip.ts";
import type { Destination, Firewall, Hairpin, NodeRules, NoEndpoints } from "./node-rules.ts";

export type Parsed<T> = { ok: true; value: T } | { ok: false; error: string };

const isRecord = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v);

function address(v: unknown, at: string): Parsed<Hairpin> {
  if (!isRecord(v)) return { ok: false, error: `${at}: not an object` };
  const { family, ip } = v;
  if (family !== "ipv4" && family !== "ipv6") return { ok: false, error: `${at}.family: ipv4 or ipv6` };
  const parsed = parseIp(ip);
  if (parsed === undefined || parsed.family !== family || parsed.address !== ip)
    return { ok: false, error: `${at}.ip: not a canonical ${family} address: ${JSON.stringify(ip)}` };
  return { ok: true, value: { family, ip: parsed.address } };
}

function destination(v: unknown, at: string): Parsed<Destination> {
  const a = address(v, at);
  if (!a.ok) return a;
  const { family, ip } = a.value;
  const { protocol, port } = v as Record<string, unknown>;
  if (protocol !== "tcp" && protocol !== "udp" && protocol !== "sctp")
    return { ok: false, error: `${at}.protocol: tcp, udp or sctp` };
  if (typeof port !== "number" || !Number.isInteger(port) || port < 1 || port > 65535)
    return { ok: false, error: `${at}.port: an integer from 1 to 65535` };
  return { ok: true, value: { family, protocol, ip, port } };
}

export function parseNodeRules(v: unknown): Parsed<NodeRules> {
  if (
    !isRecord(v) ||
    !Array.isArray(v.noEndpoints) ||
    !Array.isArray(v.firewall) ||
    !Array.isArray(v.hairpin)
  )
    return { ok: false, error: "rules: an object with the arrays noEndpoints, firewall and hairpin" };
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
  const hairpin: Hairpin[] = [];
  for (const [i, e] of (v.hairpin as unknown[]).entries()) {
    const a = address(e, `hairpin[${i}]`);
    if (!a.ok) return a;
    hairpin.push(a.value);
  }
  // Optional: a syncer older than the agent sends none (then nothing is dropped as a straddler).
  if (v.balanced === undefined) return { ok: true, value: { noEndpoints, firewall, hairpin } };
  if (!Array.isArray(v.balanced)) return { ok: false, error: "balanced: an array of destinations" };
  const balanced: Destination[] = [];
  for (const [i, e] of (v.balanced as unknown[]).entries()) {
    const d = destination(e, `balanced[${i}]`);
    if (!d.ok) return d;
    balanced.push(d.value);
  }
  return { ok: true, value: { noEndpoints, firewall, hairpin, balanced } };
}
