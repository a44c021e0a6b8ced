// The Service registry's allocation half (pkg/registry/core/service/storage): ClusterIPs, NodePorts
// (one per port number, shared by its TCP and UDP ports, as initNodePorts does), the
// healthCheckNodePort of a LoadBalancer with externalTrafficPolicy Local, the values an update
// leaves out carried over (patchAllocatedValues), the fields a type change makes meaningless
// dropped (dropTypeDependentFields), and everything released when no longer used.
import type { IpAllocator, PortAllocator } from "./allocators.ts";
import type { FieldError } from "./status.ts";
import type { Obj } from "./store.ts";
import { externallyAccessible, needsHealthCheck, needsNodePorts, specOf, type Spec } from "./service.ts";
import { invalidValue } from "./validation.ts";

export interface Allocators {
  ips: IpAllocator;
  ports: PortAllocator;
}

const needsClusterIP = (s: Spec) => s.type !== "ExternalName";
const same = (a: unknown, b: unknown) => JSON.stringify(a ?? null) === JSON.stringify(b ?? null);
const nodePorts = (s: Spec) => (s.ports ?? []).map((p) => p.nodePort ?? 0);

/** On update, values the client left out are carried over from the stored object. */
export function carryOverAllocated(svc: Obj, old: Obj): void {
  const s = specOf(svc);
  const o = specOf(old);
  if (needsClusterIP(o) && needsClusterIP(s)) {
    if ((s.clusterIP ?? "") === "" && o.clusterIP !== undefined) s.clusterIP = o.clusterIP;
    if ((s.clusterIPs ?? []).length === 0 && o.clusterIPs !== undefined) s.clusterIPs = [...o.clusterIPs];
  }
  if (needsNodePorts(o) && needsNodePorts(s)) {
    const used = new Set(nodePorts(o).filter((n) => nodePorts(s).includes(n)));
    const byName = new Map((o.ports ?? []).map((p) => [p.name ?? "", p.nodePort ?? 0]));
    for (const p of s.ports ?? []) {
      const was = byName.get(p.name ?? "") ?? 0;
      if ((p.nodePort ?? 0) === 0 && was !== 0 && !used.has(was)) p.nodePort = was;
    }
  }
  if (needsHealthCheck(o) && needsHealthCheck(s) && (s.healthCheckNodePort ?? 0) === 0)
    s.healthCheckNodePort = o.healthCheckNodePort;
}

/** What a type change makes meaningless goes, unless the client changed it in the same write. */
export function dropTypeDependentFields(svc: Obj, old: Obj): void {
  const s = specOf(svc);
  const o = specOf(old);
  if (needsClusterIP(o) && !needsClusterIP(s)) {
    if (same(s.clusterIPs, o.clusterIPs) && same(s.clusterIP, o.clusterIP)) {
      delete s.clusterIP;
      delete s.clusterIPs;
    }
    if (same(s.ipFamilies, o.ipFamilies)) delete s.ipFamilies;
    if (same(s.ipFamilyPolicy, o.ipFamilyPolicy)) delete s.ipFamilyPolicy;
  }
  if (needsNodePorts(o) && !needsNodePorts(s) && same(nodePorts(s), nodePorts(o)))
    for (const p of s.ports ?? []) delete p.nodePort;
  if (needsHealthCheck(o) && !needsHealthCheck(s) && same(s.healthCheckNodePort, o.healthCheckNodePort))
    delete s.healthCheckNodePort;
  if (o.type === "LoadBalancer" && s.type !== "LoadBalancer") {
    if (same(s.allocateLoadBalancerNodePorts, o.allocateLoadBalancerNodePorts))
      delete s.allocateLoadBalancerNodePorts;
    if (same(s.loadBalancerClass, o.loadBalancerClass)) delete s.loadBalancerClass;
  }
  if (
    externallyAccessible(o) &&
    !externallyAccessible(s) &&
    same(s.externalTrafficPolicy, o.externalTrafficPolicy)
  )
    delete s.externalTrafficPolicy;
  if (s.type !== "LoadBalancer") svc.status = { ...(svc.status as object | undefined), loadBalancer: {} };
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
  const port = (field: string, requested: number | undefined): number | undefined => {
    const r = a.ports.allocate(requested === 0 ? undefined : requested, dryRun);
    if ("error" in r) {
      out.push(invalidValue(field, requested, r.error));
      return undefined;
    }
    if (!dryRun) taken.push(() => a.ports.release(r.port));
    return r.port;
  };
  if (needsClusterIP(s)) {
    const requested = s.clusterIPs?.[0] ?? (s.clusterIP === "" ? undefined : s.clusterIP);
    const had = o !== undefined && needsClusterIP(o) ? o.clusterIPs?.[0] : undefined;
    if (had !== undefined && requested !== had) {
      out.push(
        invalidValue("spec.clusterIPs[0]", s.clusterIPs ?? [requested ?? ""], "may not change once set"),
      );
    } else if (requested === "None") {
      s.clusterIP = "None";
      s.clusterIPs = ["None"];
    } else if (had === undefined) {
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
  const held = new Set(o !== undefined && needsNodePorts(o) ? nodePorts(o) : []);
  // a first allocation gives one nodePort per port number (TCP and UDP share it)
  const share = o === undefined || !needsNodePorts(o);
  const byNumber = new Map<unknown, number>();
  const list = s.ports ?? [];
  list.forEach((p, i) => {
    const want = p.nodePort ?? 0;
    if (want === 0 && !needsNodePorts(s)) return;
    const shared = share ? byNumber.get(p.port) : undefined;
    if (shared !== undefined && (want === 0 || want === shared)) {
      p.nodePort = shared;
      return;
    }
    if (want !== 0 && (held.has(want) || [...byNumber.values()].includes(want))) {
      byNumber.set(p.port, want);
      return;
    }
    const requested =
      want !== 0 || !share
        ? want
        : (list.slice(i).find((q) => q.port === p.port && (q.nodePort ?? 0) !== 0)?.nodePort ?? 0);
    const got = port(`spec.ports[${i}].nodePort`, requested);
    if (got !== undefined) {
      p.nodePort = got;
      byNumber.set(p.port, got);
    }
  });
  if (needsHealthCheck(s)) {
    const want = s.healthCheckNodePort ?? 0;
    const had = o !== undefined && needsHealthCheck(o) ? o.healthCheckNodePort : undefined;
    if (want === 0 || want !== had) {
      const got = port("spec.healthCheckNodePort", want);
      if (got !== undefined) s.healthCheckNodePort = got;
    }
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
  const keep = new Set(n === undefined ? [] : [...nodePorts(n), n.healthCheckNodePort ?? 0]);
  for (const p of new Set([...nodePorts(o), o.healthCheckNodePort ?? 0]))
    if (p !== 0 && !keep.has(p)) a.ports.release(p);
}
