// What one node tells load balancers and operators about a Service's local endpoints, the way
// kube-proxy computes it: the healthCheckNodePort answer (LoadBalancer + externalTrafficPolicy
// Local) and the Service ports with a Local policy but no usable local endpoint
// (sync_proxy_rules_no_local_endpoints_total). Pure; read defensively like desired.ts.
import { PROXY_NAME, SERVICE_PROXY_NAME_LABEL, type ProxyScope } from "../annotations/index.ts";
import { isRecord, list, str, type Endpoint, type EndpointGroup } from "./endpoints.ts";

export interface HealthCheck {
  namespace: string;
  name: string;
  /** spec.healthCheckNodePort. */
  port: number;
  /** Distinct addresses of ready endpoints on this node (terminating ones do not count). */
  localEndpoints: number;
}

export interface NodeLocal {
  healthCheck?: HealthCheck;
  /** Service ports whose Local policy finds endpoints in the cluster but none on this node. */
  noLocalEndpoints: { internal: number; external: number };
}

const NONE: NodeLocal = { noLocalEndpoints: { internal: 0, external: 0 } };

/** One Service and its endpoint groups (endpoints.ts / endpoints-v1.ts), for node `nodeName`. */
export function nodeLocal(
  service: unknown,
  groups: readonly EndpointGroup[],
  nodeName: string,
  scope: ProxyScope = { proxyName: PROXY_NAME, mode: "replace" },
): NodeLocal {
  if (!isRecord(service)) return NONE;
  const meta = isRecord(service.metadata) ? service.metadata : {};
  const spec = isRecord(service.spec) ? service.spec : {};
  const labels = isRecord(meta.labels) ? meta.labels : {};
  const owner = labels[SERVICE_PROXY_NAME_LABEL];
  if (owner !== undefined ? owner !== scope.proxyName : scope.mode === "alongside") return NONE;
  if (spec.type === "ExternalName" || spec.clusterIP === "None") return NONE;
  const ports = list(spec.ports).filter(isRecord);
  const external =
    spec.type === "NodePort" || spec.type === "LoadBalancer" || list(spec.externalIPs).length > 0;
  const externalLocal = external && spec.externalTrafficPolicy === "Local";
  const internalLocal = spec.internalTrafficPolicy === "Local";

  const local = (e: Endpoint) => e.nodeName !== undefined && e.nodeName === nodeName;
  const usable = (e: Endpoint) => e.ready || (e.serving && e.terminating);
  const noLocal = { internal: 0, external: 0 };
  for (const p of ports) {
    const name = str(p.name) ?? "";
    const protocol = str(p.protocol) ?? "TCP";
    const eps = groups
      .filter((g) => g.ports.some((gp) => gp.name === name && gp.protocol === protocol))
      .flatMap((g) => g.endpoints);
    // kube-proxy counts a port only when the Service has endpoints somewhere (else it rejects).
    if (!eps.some(usable) || eps.some((e) => local(e) && usable(e))) continue;
    if (internalLocal) noLocal.internal++;
    if (externalLocal) noLocal.external++;
  }

  const hcPort = spec.healthCheckNodePort;
  const wantsHealthCheck =
    spec.type === "LoadBalancer" &&
    spec.externalTrafficPolicy === "Local" &&
    typeof hcPort === "number" &&
    Number.isInteger(hcPort) &&
    hcPort >= 1 &&
    hcPort <= 65535;
  if (!wantsHealthCheck) return { noLocalEndpoints: noLocal };
  // kube-proxy squashes by IP: 10.0.0.1:80 and 10.0.0.1:443 are one endpoint.
  const addresses = new Set(
    groups
      .filter((g) => g.ports.length > 0)
      .flatMap((g) => g.endpoints)
      .filter((e) => local(e) && e.ready)
      .map((e) => e.address),
  );
  return {
    healthCheck: {
      namespace: str(meta.namespace) ?? "default",
      name: str(meta.name) ?? "",
      port: hcPort,
      localEndpoints: addresses.size,
    },
    noLocalEndpoints: noLocal,
  };
}

/**
 * kube-proxy's answer on a healthCheckNodePort: 200 when the node has a ready local endpoint and
 * the proxy is healthy, else 503; the JSON body as kube-proxy's service_health.go indents it.
 */
export function healthCheckAnswer(
  hc: Pick<HealthCheck, "namespace" | "name" | "localEndpoints">,
  proxyHealthy: boolean,
): { status: 200 | 503; body: string } {
  const body = [
    "{",
    '\t"service": {',
    `\t\t"namespace": ${JSON.stringify(hc.namespace)},`,
    `\t\t"name": ${JSON.stringify(hc.name)}`,
    "\t},",
    `\t"localEndpoints": ${hc.localEndpoints},`,
    `\t"serviceProxyHealthy": ${proxyHealthy}`,
    "}",
  ].join("\n");
  return { status: hc.localEndpoints > 0 && proxyHealthy ? 200 : 503, body };
}
