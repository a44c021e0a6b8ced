// Which Services kube-nftlb balances at all (SPEC §3 "Not balanced").
import { PROXY_NAME, SERVICE_PROXY_NAME_LABEL } from "./contract.ts";
import type { Service } from "./service.ts";

/**
 * `replace`: kube-nftlb replaces kube-proxy and takes every Service not labelled for another proxy.
 * `alongside`: kube-proxy stays; kube-nftlb takes only Services labelled with its own proxy name.
 */
export type ProxyMode = "replace" | "alongside";

export interface ProxyScope {
  proxyName: string;
  mode: ProxyMode;
}

export const DEFAULT_SCOPE: ProxyScope = { proxyName: PROXY_NAME, mode: "replace" };

export type Balanced = { balanced: true } | { balanced: false; reason: string };

export function balanced(service: Service, scope: ProxyScope = DEFAULT_SCOPE): Balanced {
  const spec = service.spec;
  if (spec.type === "ExternalName") return { balanced: false, reason: "it is of type ExternalName" };
  if (spec.clusterIP === "None") return { balanced: false, reason: "it is headless (clusterIP: None)" };
  const owner = service.metadata.labels?.[SERVICE_PROXY_NAME_LABEL];
  if (owner !== undefined && owner !== scope.proxyName) {
    return {
      balanced: false,
      reason: `it is labelled ${SERVICE_PROXY_NAME_LABEL}=${owner} for another proxy`,
    };
  }
  if (owner === undefined && scope.mode === "alongside") {
    return {
      balanced: false,
      reason: `kube-nftlb runs alongside kube-proxy and only balances Services labelled ${SERVICE_PROXY_NAME_LABEL}=${scope.proxyName}`,
    };
  }
  if ((spec.ports ?? []).length === 0) return { balanced: false, reason: "it has no ports" };
  return { balanced: true };
}
