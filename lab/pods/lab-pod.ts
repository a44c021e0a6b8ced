// A Pod as the lab's kubelet reads it, where Pods come from, and the node's pod network.
import type { PodPort } from "./sandbox.ts";

export interface LabPod {
  metadata: {
    name?: string;
    namespace?: string;
    uid?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    deletionTimestamp?: string;
    finalizers?: string[];
  };
  spec?: {
    nodeName?: string;
    containers?: { name?: string; ports?: { containerPort?: number; protocol?: string }[] }[];
  };
  status?: { conditions?: { type: string; status: string }[] };
}

export interface PodSource {
  get(namespace: string, name: string): LabPod | undefined;
  list(): LabPod[];
  /** calls back with every Pod that changes (as it was when deleted) */
  watch(onChange: (pod: LabPod) => void): () => void;
}

export interface PodNetwork {
  nodeNs: string;
  bridge: string;
  /** prefix of pod namespace names, e.g. knl7-p */
  nsPrefix: string;
  /** pod i gets `${ipPrefix}${firstHost + i}` */
  ipPrefix: string;
  firstHost: number;
  lastHost: number;
  prefixLength: number;
  gateway: string;
}

/** The ports a Pod's containers declare that the sandbox serves (SCTP is not served). */
export const portsOf = (pod: LabPod): PodPort[] =>
  (pod.spec?.containers ?? []).flatMap((c) =>
    (c.ports ?? [])
      .filter((p) => typeof p.containerPort === "number" && (p.protocol ?? "TCP") !== "SCTP")
      .map((p) => ({ port: p.containerPort!, protocol: (p.protocol ?? "TCP") as "TCP" | "UDP" })),
  );
