// Whose address a backend sees (issue 12 item 4), as Kubernetes promises it:
// - `externalTrafficPolicy: Local`: external traffic (NodePorts, externalIPs, load-balancer IPs)
//   goes to endpoints on the node it entered and keeps the client's own address. nftlb's `dnat`
//   does that (it rewrites only the destination; the backend's reply returns through this node,
//   its gateway); `snat` masquerades every connection, so the backend would see the node.
// - `externalTrafficPolicy: Cluster`: external traffic may go to a Pod on another node, whose
//   reply must come back through the node the client reached: that takes masquerading (`snat`).
//   `dnat` would let the other node answer the client directly, and the connection fails.
// So, per farm: when the user did not set the mode, the farm holding the external addresses of
// an `externalTrafficPolicy: Local` Service is `dnat`, every other farm the cluster default. A
// mode the user set wins; where it cannot keep a traffic policy's promise, admission warns.
import { fullKey, type Mode } from "./contract.ts";
import type { Finding } from "./evaluate.ts";
import type { Service } from "./service.ts";

/** NodePort, LoadBalancer, or with externalIPs: the Services the external policy applies to. */
const reachableFromOutside = (s: Service["spec"]): boolean =>
  s.type === "NodePort" || s.type === "LoadBalancer" || (s.externalIPs ?? []).length > 0;

/** kube-proxy's rule: the external policy applies only to Services reachable from outside. */
export const externalPolicyLocal = (service: Service): boolean =>
  service.spec.externalTrafficPolicy === "Local" && reachableFromOutside(service.spec);

/**
 * The mode of one farm. `carriesExternal`: the farm holds the Service's external addresses
 * (its `.ext` farm, or its only farm when both traffic policies agree).
 */
export function farmMode(service: Service, chosen: Mode, modeSet: boolean, carriesExternal: boolean): Mode {
  if (modeSet || chosen === "dsr") return chosen;
  return carriesExternal && externalPolicyLocal(service) ? "dnat" : chosen;
}

/** Warnings for a mode the user set that cannot keep the traffic policy's promise. */
export function clientAddressWarnings(service: Service, mode: Mode, modeSet: boolean): Finding[] {
  if (!modeSet) return [];
  const s = service.spec;
  if (mode === "snat" && externalPolicyLocal(service)) {
    return [
      {
        key: fullKey("mode"),
        message:
          "mode \"snat\" masquerades every connection: with externalTrafficPolicy: Local the backends see the node's address, not the client's. " +
          "Leave the mode unset and kube-nftlb keeps the client's address (dnat on the external addresses)",
      },
    ];
  }
  if (mode === "dnat" && reachableFromOutside(s) && s.externalTrafficPolicy !== "Local") {
    return [
      {
        key: fullKey("mode"),
        message:
          'mode "dnat" does not masquerade: with externalTrafficPolicy: Cluster, external traffic sent to a Pod on another node is answered by that node directly and fails. ' +
          "Leave the mode unset (snat), or set externalTrafficPolicy: Local",
      },
    ];
  }
  return [];
}
