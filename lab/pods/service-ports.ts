// The ports Services send a Pod's traffic to that none of its containers declares. containerPort
// is informational in Kubernetes: nginx listens on 80 whether the manifest says so or not, and the
// endpoints of a Service with a numeric targetPort carry that port either way. The lab's pod server
// stands in for every image, so it answers on these ports too, as the real server would; the
// kubelet tells the user with an Event that it did (see docs/lab.md, "Pods"). Pure.
import { selects } from "../controllers/endpointslices.ts";
import type { PodPort } from "./sandbox.ts";

export interface ServiceForPorts {
  metadata: { name?: string; namespace?: string };
  spec?: {
    selector?: Record<string, string> | null;
    ports?: { port?: number; targetPort?: number | string; protocol?: string }[];
  };
}

export interface UndeclaredPort extends PodPort {
  /** `namespace/name` of a Service that targets it */
  service: string;
}

const protocolOf = (p: string | undefined): "TCP" | "UDP" | undefined =>
  p === undefined || p === "TCP" ? "TCP" : p === "UDP" ? "UDP" : undefined;

/**
 * Numeric target ports (or `port` when targetPort is absent) of the Services in the Pod's
 * namespace whose selector matches its labels, minus the ports it declares. A named targetPort
 * resolves only against declared ports, so it never appears here. One entry per port, naming the
 * first Service (by name) that targets it.
 */
export function undeclaredServicePorts(
  pod: { namespace: string; labels?: Record<string, string>; declared: readonly PodPort[] },
  services: readonly ServiceForPorts[],
): UndeclaredPort[] {
  const out = new Map<string, UndeclaredPort>();
  const sorted = [...services].sort((a, b) => (a.metadata.name ?? "").localeCompare(b.metadata.name ?? ""));
  for (const svc of sorted) {
    const selector = svc.spec?.selector;
    if ((svc.metadata.namespace ?? "default") !== pod.namespace) continue;
    if (!selector || Object.keys(selector).length === 0 || !selects(selector, pod.labels)) continue;
    for (const p of svc.spec?.ports ?? []) {
      const port = p.targetPort ?? p.port;
      const protocol = protocolOf(p.protocol);
      if (typeof port !== "number" || protocol === undefined) continue;
      if (pod.declared.some((d) => d.port === port && d.protocol === protocol)) continue;
      const key = `${protocol}/${port}`;
      if (!out.has(key))
        out.set(key, { port, protocol, service: `${pod.namespace}/${svc.metadata.name ?? ""}` });
    }
  }
  return [...out.values()];
}

/** The Event's message for one such port. */
export const undeclaredPortMessage = (p: UndeclaredPort): string =>
  `Service ${p.service} targets port ${p.port}/${p.protocol}, which no container of this Pod declares ` +
  `(containerPort is informational); the lab's pod server answers on it, as a server listening ` +
  `there would. On a real cluster the image itself must listen on ${p.port}.`;

/** The core/v1 Event the lab's kubelet posts for one such port (what `kubectl describe pod` lists). */
export function undeclaredPortEvent(
  pod: { name?: string; namespace?: string; uid?: string },
  p: UndeclaredPort,
  node: string,
  nowMs: number,
): Record<string, unknown> {
  const at = new Date(nowMs).toISOString().replace(/\.\d{3}Z$/, "Z");
  const namespace = pod.namespace ?? "default";
  return {
    metadata: { generateName: `${pod.name ?? ""}.`, namespace },
    involvedObject: { kind: "Pod", apiVersion: "v1", namespace, name: pod.name, uid: pod.uid },
    type: "Normal",
    reason: "UndeclaredPort",
    message: undeclaredPortMessage(p),
    count: 1,
    firstTimestamp: at,
    lastTimestamp: at,
    source: { component: "kubelet", host: node },
    reportingComponent: "kubelet",
    reportingInstance: node,
  };
}
