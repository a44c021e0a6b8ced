// The Service strategy: defaults (as the v1 defaulters set them) and validation
// (pkg/apis/core/validation) with the real texts. Allocation is in service-alloc.ts.
import type { FieldError } from "./status.ts";
import type { Obj } from "./store.ts";
import {
  duplicate,
  forbiddenField,
  invalidValue,
  isPortNumber,
  nameErrors,
  notSupported,
  PORT_RANGE,
  PROTOCOLS,
  required,
  portNameErrors,
  specialIP,
  validIP,
} from "./validation.ts";

export interface Port {
  name?: string;
  port?: unknown;
  protocol?: unknown;
  targetPort?: unknown;
  nodePort?: number;
  [k: string]: unknown;
}
export interface Spec {
  type?: string;
  externalIPs?: unknown[];
  healthCheckNodePort?: number;
  loadBalancerClass?: string;
  clusterIP?: string;
  clusterIPs?: string[];
  ports?: Port[];
  sessionAffinity?: string;
  sessionAffinityConfig?: { clientIP?: { timeoutSeconds?: unknown } };
  externalTrafficPolicy?: string;
  internalTrafficPolicy?: string;
  externalName?: string;
  ipFamilies?: string[];
  ipFamilyPolicy?: string;
  allocateLoadBalancerNodePorts?: boolean;
  [k: string]: unknown;
}

export const specOf = (o: Obj): Spec => (o.spec ??= {}) as Spec;
const TYPES = ["ClusterIP", "ExternalName", "LoadBalancer", "NodePort"];
export const needsNodePorts = (s: Spec) =>
  s.type === "NodePort" || (s.type === "LoadBalancer" && s.allocateLoadBalancerNodePorts !== false);
export const needsHealthCheck = (s: Spec) => s.type === "LoadBalancer" && s.externalTrafficPolicy === "Local";
/** pkg/apis/core/v1/helper ExternallyAccessible: NodePort, LoadBalancer, or a ClusterIP with externalIPs */
export const externallyAccessible = (s: Spec) =>
  s.type === "LoadBalancer" ||
  s.type === "NodePort" ||
  (s.type === "ClusterIP" && (s.externalIPs ?? []).length > 0);
const FAMILY_POLICIES = ["PreferDualStack", "RequireDualStack", "SingleStack"];

export function defaultService(svc: Obj): void {
  const s = specOf(svc);
  s.type ??= "ClusterIP";
  s.sessionAffinity ??= "None";
  if (s.sessionAffinity === "None") delete s.sessionAffinityConfig;
  if (s.sessionAffinity === "ClientIP") {
    s.sessionAffinityConfig ??= {};
    s.sessionAffinityConfig.clientIP ??= {};
    s.sessionAffinityConfig.clientIP.timeoutSeconds ??= 10800;
  }
  for (const p of Array.isArray(s.ports) ? s.ports : []) {
    if (typeof p !== "object" || p === null) continue;
    p.protocol ??= "TCP";
    p.targetPort ??= p.port;
  }
  if (externallyAccessible(s)) s.externalTrafficPolicy ??= "Cluster";
  if (s.type === "LoadBalancer") s.allocateLoadBalancerNodePorts ??= true;
  if (s.type !== "ExternalName") s.internalTrafficPolicy ??= "Cluster";
  svc.status ??= { loadBalancer: {} };
}

export function validateService(svc: Obj): FieldError[] {
  const s = specOf(svc);
  const out: FieldError[] = [];
  if (!TYPES.includes(s.type ?? "")) out.push(notSupported("spec.type", s.type, TYPES));
  const headless = s.clusterIP === "None";
  const list = s.ports ?? [];
  if (list.length === 0 && !headless && s.type !== "ExternalName") out.push(required("spec.ports"));
  const names = new Set<string>();
  const seen = new Set<string>();
  list.forEach((p, i) => {
    const f = `spec.ports[${i}]`;
    if (list.length > 1 && (p.name === undefined || p.name === "")) out.push(required(`${f}.name`));
    if (p.name !== undefined && p.name !== "") {
      out.push(...nameErrors(p.name, "label", `${f}.name`));
      if (names.has(p.name)) out.push(duplicate(`${f}.name`, p.name));
      names.add(p.name);
    }
    if (!isPortNumber(p.port)) out.push(invalidValue(`${f}.port`, p.port, PORT_RANGE));
    if (!PROTOCOLS.includes(p.protocol as string))
      out.push(notSupported(`${f}.protocol`, p.protocol, PROTOCOLS));
    const key = `${String(p.port)}/${String(p.protocol)}`;
    if (seen.has(key)) out.push(duplicate(f, { port: p.port, protocol: p.protocol }));
    seen.add(key);
    const tp = p.targetPort;
    if (typeof tp === "number") {
      if (!isPortNumber(tp)) out.push(invalidValue(`${f}.targetPort`, tp, PORT_RANGE));
    } else for (const why of portNameErrors(String(tp))) out.push(invalidValue(`${f}.targetPort`, tp, why));
    if (p.nodePort !== undefined && !needsNodePorts(s) && s.type !== "LoadBalancer") {
      out.push(forbiddenField(`${f}.nodePort`, `may not be used when \`type\` is '${s.type ?? ""}'`));
    }
  });
  if (!["ClientIP", "None"].includes(s.sessionAffinity ?? ""))
    out.push(notSupported("spec.sessionAffinity", s.sessionAffinity, ["ClientIP", "None"]));
  const t = s.sessionAffinityConfig?.clientIP?.timeoutSeconds;
  if (t !== undefined && !(typeof t === "number" && Number.isInteger(t) && t > 0 && t <= 86400)) {
    out.push(
      invalidValue(
        "spec.sessionAffinityConfig.clientIP.timeoutSeconds",
        t,
        "must be greater than 0 and less than 86400",
      ),
    );
  }
  if (!externallyAccessible(s)) {
    if (s.externalTrafficPolicy !== undefined)
      out.push(
        invalidValue(
          "spec.externalTrafficPolicy",
          s.externalTrafficPolicy,
          "may only be set for externally-accessible services",
        ),
      );
  } else if (s.externalTrafficPolicy === undefined) out.push(required("spec.externalTrafficPolicy"));
  else if (!["Cluster", "Local"].includes(s.externalTrafficPolicy))
    out.push(notSupported("spec.externalTrafficPolicy", s.externalTrafficPolicy, ["Cluster", "Local"]));
  if (!needsHealthCheck(s) && (s.healthCheckNodePort ?? 0) !== 0)
    out.push(
      invalidValue(
        "spec.healthCheckNodePort",
        s.healthCheckNodePort,
        "may only be set when `type` is 'LoadBalancer' and `externalTrafficPolicy` is 'Local'",
      ),
    );
  (Array.isArray(s.externalIPs) ? s.externalIPs : []).forEach((ip, i) => {
    const why = validIP(ip)
      ? specialIP(ip as string)
      : "must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)";
    if (why !== undefined) out.push(invalidValue(`spec.externalIPs[${i}]`, ip, why));
  });
  if (s.ipFamilyPolicy !== undefined && !FAMILY_POLICIES.includes(s.ipFamilyPolicy))
    out.push(notSupported("spec.ipFamilyPolicy", s.ipFamilyPolicy, FAMILY_POLICIES));
  else if (s.ipFamilyPolicy === "RequireDualStack")
    out.push(
      invalidValue(
        "spec.ipFamilyPolicy",
        s.ipFamilyPolicy,
        "this cluster is not configured for dual-stack services",
      ),
    );
  const ingress =
    (svc.status as { loadBalancer?: { ingress?: unknown[] } } | undefined)?.loadBalancer?.ingress ?? [];
  if (s.type !== "LoadBalancer" && ingress.length > 0)
    out.push(
      forbiddenField("status.loadBalancer.ingress", "may only be used when `spec.type` is 'LoadBalancer'"),
    );
  if (s.internalTrafficPolicy !== undefined && !["Cluster", "Local"].includes(s.internalTrafficPolicy)) {
    out.push(notSupported("spec.internalTrafficPolicy", s.internalTrafficPolicy, ["Cluster", "Local"]));
  }
  if (s.type === "ExternalName" && (s.externalName === undefined || s.externalName === ""))
    out.push(required("spec.externalName"));
  (s.clusterIPs ?? []).forEach((ip, i) => {
    if (ip !== "None" && !validIP(ip))
      out.push(
        invalidValue(
          `spec.clusterIPs[${i}]`,
          ip,
          "must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)",
        ),
      );
  });
  if (s.clusterIP !== undefined && s.clusterIPs?.[0] !== undefined && s.clusterIP !== s.clusterIPs[0]) {
    out.push(invalidValue("spec.clusterIPs", s.clusterIPs, "must match `clusterIP` when set"));
  }
  return out;
}
