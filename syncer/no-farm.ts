// Why a Service gives no farm on a node, in words a user can act on: `render` prints it for each
// such Service, so an empty `{"farms":[]}` never comes without a reason. Pure.
import { balanced, parseService, type ProxyScope } from "../annotations/index.ts";
import type { DesiredService } from "./desired.ts";

/** Completes "Service ns/name gives no farm: …", or undefined when it gives farms. */
export function whyNoFarm(service: unknown, result: DesiredService, scope?: ProxyScope): string | undefined {
  if (result.farms.length > 0) return undefined;
  const parsed = parseService(service);
  if (!parsed.ok) return parsed.error;
  const b = balanced(parsed.service, scope);
  if (!b.balanced) return b.reason;
  const spec = parsed.service.spec;
  if (result.problems.some((p) => p.severity === "error" && p.key.startsWith("spec.")))
    return "its addresses or ports are invalid (above)";
  if (!spec.clusterIP && (spec.clusterIPs ?? []).length === 0)
    return "it has no clusterIP yet (the API server assigns one when it is applied)";
  // Not reached by any Service desired() knows today; said rather than left silent.
  return "none of its ports has an address on this node";
}
