// `render --placeholder-cluster-ips`: manifests not yet applied have no clusterIP (the API server
// assigns it), so they would render no farm. For a preview, each such Service gets addresses from
// the documentation ranges, which no cluster uses: IPv4 from 192.0.2.0/24, then 198.51.100.0/24
// and 203.0.113.0/24 (RFC 5737), IPv6 from 2001:db8::/32 (RFC 3849). Pure: new objects, the
// loaded ones untouched.
import { isObject, type ManifestObject } from "./load.ts";

export interface Placeholder {
  object: ManifestObject;
  ips: string[];
}

const V4_BLOCKS = ["192.0.2", "198.51.100", "203.0.113"];
const V4_PER_BLOCK = 254;

/** The families the API server would allocate, in its order: ipFamilies, else the policy. */
function families(spec: Record<string, unknown>): ("IPv4" | "IPv6")[] {
  const given = Array.isArray(spec.ipFamilies)
    ? spec.ipFamilies.filter((f): f is "IPv4" | "IPv6" => f === "IPv4" || f === "IPv6")
    : [];
  if (given.length > 0) return spec.ipFamilyPolicy === "SingleStack" ? given.slice(0, 1) : given;
  return spec.ipFamilyPolicy === "RequireDualStack" ? ["IPv4", "IPv6"] : ["IPv4"];
}

/** The objects with placeholders set, and which Service got which; past 762 IPv4 Services, none. */
export function withPlaceholderClusterIps(objects: readonly ManifestObject[]): {
  objects: ManifestObject[];
  placed: Placeholder[];
} {
  let v4 = 0;
  let v6 = 0;
  const placed: Placeholder[] = [];
  const out = objects.map((o) => {
    const spec = o.object.spec;
    if (o.object.kind !== "Service" || !isObject(spec)) return o;
    if (spec.type === "ExternalName" || spec.clusterIP === "None") return o;
    if (typeof spec.clusterIP === "string" && spec.clusterIP !== "") return o;
    if (Array.isArray(spec.clusterIPs) && spec.clusterIPs.length > 0) return o;
    const ips: string[] = [];
    for (const family of families(spec)) {
      if (family === "IPv6") ips.push(`2001:db8::${(++v6).toString(16)}`);
      else if (v4 < V4_BLOCKS.length * V4_PER_BLOCK) {
        const n = v4++;
        ips.push(`${V4_BLOCKS[Math.floor(n / V4_PER_BLOCK)]!}.${(n % V4_PER_BLOCK) + 1}`);
      }
    }
    if (ips.length === 0) return o;
    const object = { ...o, object: { ...o.object, spec: { ...spec, clusterIP: ips[0], clusterIPs: ips } } };
    placed.push({ object, ips });
    return object;
  });
  return { objects: out, placed };
}
