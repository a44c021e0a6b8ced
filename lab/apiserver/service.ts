// The Service strategy: defaults (as the v1 defaulters set them), validation of the fields
// kube-nftlb reads, ClusterIP/NodePort allocation, carrying allocated values over an update that
// omits them (as the real registry does, so `kubectl replace` of a manifest keeps its IP), and
// releasing them on delete.
import type { IpAllocator, PortAllocator } from "./allocators.ts";
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
  validIP,
} from "./validation.ts";

interface Port {
  name?: string;
  port?: unknown;
  protocol?: unknown;
  targetPort?: unknown;
  nodePort?: number;
  [k: string]: unknown;
}
interface Spec {
  type?: string;
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

const specOf = (o: Obj): Spec => (o.spec ??= {}) as Spec;
const TYPES = ["ClusterIP", "ExternalName", "LoadBalancer", "NodePort"];
const needsNodePorts = (s: Spec) =>
  s.type === "NodePort" || (s.type === "LoadBalancer" && s.allocateLoadBalancerNodePorts !== false);

export function defaultService(svc: Obj): void {
  const s = specOf(svc);
  s.type ??= "ClusterIP";
  s.sessionAffinity ??= "None";
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
  if (s.type === "NodePort" || s.type === "LoadBalancer") s.externalTrafficPolicy ??= "Cluster";
  if (s.type === "LoadBalancer") s.allocateLoadBalancerNodePorts ??= true;
  if (s.type !== "ExternalName") s.internalTrafficPolicy ??= "Cluster";
  svc.status ??= { loadBalancer: {} };
}

export function validateService(svc: Obj): FieldError[] {
  const s = specOf(svc);
  const out: FieldError[] = [];
  if (!TYPES.includes(s.type ?? "")) out.push(notSupported("spec.type", s.type, TYPES));
  const headless = s.clusterIP === "None";
  const ports = s.ports;
  if (ports !== undefined && !Array.isArray(ports))
    out.push(invalidValue("spec.ports", ports, "must be a list"));
  const list = Array.isArray(ports) ? ports : [];
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
    if (
      typeof tp === "number"
        ? !isPortNumber(tp)
        : typeof tp !== "string" || !/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(tp) || tp.length > 15
    ) {
      out.push(
        invalidValue(
          `${f}.targetPort`,
          tp,
          typeof tp === "number"
            ? PORT_RANGE
            : "must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)",
        ),
      );
    }
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
  if (s.externalTrafficPolicy !== undefined) {
    if (s.type !== "NodePort" && s.type !== "LoadBalancer") {
      out.push(
        invalidValue(
          "spec.externalTrafficPolicy",
          s.externalTrafficPolicy,
          "may only be set when `type` is 'NodePort' or 'LoadBalancer'",
        ),
      );
    } else if (!["Cluster", "Local"].includes(s.externalTrafficPolicy)) {
      out.push(notSupported("spec.externalTrafficPolicy", s.externalTrafficPolicy, ["Cluster", "Local"]));
    }
  }
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

export interface Allocators {
  ips: IpAllocator;
  ports: PortAllocator;
}

/** On update, values the client left out are carried over from the stored object. */
export function carryOverAllocated(svc: Obj, old: Obj): void {
  const s = specOf(svc);
  const o = specOf(old);
  if (
    s.type !== "ExternalName" &&
    o.type !== "ExternalName" &&
    (s.clusterIP === undefined || s.clusterIP === "") &&
    s.clusterIPs === undefined
  ) {
    if (o.clusterIP !== undefined) s.clusterIP = o.clusterIP;
    if (o.clusterIPs !== undefined) s.clusterIPs = [...o.clusterIPs];
  }
  if (needsNodePorts(s)) {
    for (const p of s.ports ?? []) {
      if (p.nodePort !== undefined && p.nodePort !== 0) continue;
      const prev =
        (o.ports ?? []).find((q) => q.port === p.port && q.protocol === p.protocol) ??
        (o.ports?.length === 1 && s.ports?.length === 1 ? o.ports[0] : undefined);
      if (prev?.nodePort !== undefined) p.nodePort = prev.nodePort;
    }
  }
}

/** Allocates what the Service needs; returns field errors (and releases what it took) on failure. */
export function allocateService(
  svc: Obj,
  old: Obj | undefined,
  a: Allocators,
  dryRun: boolean,
): FieldError[] {
  const s = specOf(svc);
  const o = old === undefined ? undefined : specOf(old);
  const taken: (() => void)[] = [];
  const out: FieldError[] = [];
  if (s.type !== "ExternalName") {
    const requested = s.clusterIPs?.[0] ?? (s.clusterIP === "" ? undefined : s.clusterIP);
    const had = o?.clusterIPs?.[0];
    if (had !== undefined && requested !== had && o?.type !== "ExternalName") {
      out.push(
        invalidValue("spec.clusterIPs[0]", s.clusterIPs ?? [requested ?? ""], "may not change once set"),
      );
    } else if (requested === "None") {
      s.clusterIP = "None";
      s.clusterIPs = ["None"];
    } else if (had === undefined || requested !== had) {
      const r = a.ips.allocate(requested, dryRun);
      if ("error" in r) out.push(invalidValue("spec.clusterIPs", s.clusterIPs ?? [requested ?? ""], r.error));
      else {
        s.clusterIP = r.ip;
        s.clusterIPs = [r.ip];
        if (!dryRun) taken.push(() => a.ips.release(r.ip));
      }
    }
    s.ipFamilies ??= ["IPv4"];
    s.ipFamilyPolicy ??= "SingleStack";
  }
  if (needsNodePorts(s)) {
    const oldPorts = new Set(
      (o !== undefined && needsNodePorts(o) ? (o.ports ?? []) : []).map((p) => p.nodePort),
    );
    (s.ports ?? []).forEach((p, i) => {
      if (p.nodePort !== undefined && oldPorts.has(p.nodePort)) return;
      const r = a.ports.allocate(p.nodePort === 0 ? undefined : p.nodePort, dryRun);
      if ("error" in r) out.push(invalidValue(`spec.ports[${i}].nodePort`, p.nodePort, r.error));
      else {
        p.nodePort = r.port;
        if (!dryRun) taken.push(() => a.ports.release(r.port));
      }
    });
  }
  if (out.length > 0) for (const undo of taken) undo();
  return out;
}

/** Releases what `old` held and `now` (the updated object, or undefined on delete) no longer uses. */
export function releaseService(old: Obj, now: Obj | undefined, a: Allocators): void {
  const o = specOf(old);
  const n = now === undefined ? undefined : specOf(now);
  for (const ip of o.clusterIPs ?? [])
    if (ip !== "None" && !(n?.clusterIPs ?? []).includes(ip)) a.ips.release(ip);
  const keep = new Set(n !== undefined && needsNodePorts(n) ? (n.ports ?? []).map((p) => p.nodePort) : []);
  for (const p of o.ports ?? [])
    if (p.nodePort !== undefined && !keep.has(p.nodePort)) a.ports.release(p.nodePort);
}
