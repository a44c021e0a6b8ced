// The cluster as the reconciler sees it: Service keys, and for one key the desired farms (via the
// pure desired.ts) plus what Events and the programming-latency metric need. Built over the
// informers' caches; the reconciler's tests build one over plain objects.
import type { V1EndpointSlice, V1Node, V1Service } from "@kubernetes/client-node";
import type { Sources } from "../kube/sources.ts";
import type { ObjectRef } from "../kube/events.ts";
import {
  desired,
  desiredFromEndpoints,
  type DesiredOptions,
  type DesiredService,
  type NodeInfo,
} from "./desired.ts";
import { ZONE_LABEL } from "./topology.ts";

import { TRIGGER_TIME_ANNOTATION } from "../kube/labels.ts";
export { TRIGGER_TIME_ANNOTATION };

export interface ClusterView {
  serviceKeys(): string[];
  /** Undefined when the Service does not exist (deleted): its farms must go. */
  desiredFor(key: string): DesiredService | undefined;
  /** For Events: the Service's object reference, when it exists. */
  serviceRef(key: string): ObjectRef | undefined;
  /** `endpoints.kubernetes.io/last-change-trigger-time` of the key's EndpointSlices, by slice name. */
  triggerTimes(key: string): Map<string, number>;
}

/** The node's own addresses, InternalIP and ExternalIP, and its zone, from its Node object. */
export function nodeInfo(nodeName: string, node: V1Node | undefined): NodeInfo {
  const addresses = (node?.status?.addresses ?? [])
    .filter((a) => a.type === "InternalIP" || a.type === "ExternalIP")
    .map((a) => a.address)
    .filter((a, i, all) => typeof a === "string" && a !== "" && all.indexOf(a) === i);
  const zone = node?.metadata?.labels?.[ZONE_LABEL];
  return { name: nodeName, addresses, ...(zone ? { zone } : {}) };
}

export const splitKey = (key: string): [string, string] => {
  const i = key.indexOf("/");
  return i < 0 ? ["", key] : [key.slice(0, i), key.slice(i + 1)];
};

export function informerView(sources: Sources, nodeName: string, options: DesiredOptions): ClusterView {
  const node = () => nodeInfo(nodeName, sources.node.get(nodeName));
  const service = (key: string): V1Service | undefined => {
    const [ns, name] = splitKey(key);
    return sources.services.get(name, ns);
  };
  const slices = (key: string): V1EndpointSlice[] =>
    sources.endpointsApi === "slices" ? (sources.endpoints.byIndex(key) as V1EndpointSlice[]) : [];
  return {
    serviceKeys: () =>
      sources.services.list().map((s) => `${s.metadata?.namespace ?? ""}/${s.metadata?.name ?? ""}`),
    desiredFor(key) {
      const svc = service(key);
      if (svc === undefined) return undefined;
      if (sources.endpointsApi === "slices") return desired(svc, slices(key), node(), options);
      const [ns, name] = splitKey(key);
      const eps = sources.endpoints.get(name, ns);
      return desiredFromEndpoints(svc, eps ? [eps] : [], node(), options);
    },
    serviceRef(key) {
      const svc = service(key);
      if (svc === undefined) return undefined;
      const [namespace, name] = splitKey(key);
      return {
        kind: "Service",
        apiVersion: "v1",
        namespace,
        name,
        ...(svc.metadata?.uid ? { uid: svc.metadata.uid } : {}),
      };
    },
    triggerTimes: (key) => triggerTimes(slices(key)),
  };
}

export function triggerTimes(
  slices: readonly { metadata?: { name?: string; annotations?: Record<string, string> } }[],
): Map<string, number> {
  const out = new Map<string, number>();
  for (const s of slices) {
    const raw = s.metadata?.annotations?.[TRIGGER_TIME_ANNOTATION];
    const t = raw === undefined ? NaN : Date.parse(raw);
    if (Number.isFinite(t)) out.set(s.metadata?.name ?? "", t);
  }
  return out;
}
