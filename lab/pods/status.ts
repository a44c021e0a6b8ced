// What the lab's kubelet reports for a Pod: readiness from the annotation or the configured
// delay, and the status (phase, IPs, conditions) it writes. Pure.

export const READY_ANNOTATION = "lab.kube-nftlb.io/ready";
export const READY_AFTER_ANNOTATION = "lab.kube-nftlb.io/ready-after-ms";

export interface Readiness {
  ready: boolean;
  reason: string;
  message?: string;
  /** when the answer may change by itself (the delay ends), ms since the epoch */
  recheckAt?: number;
}

/**
 * `lab.kube-nftlb.io/ready: "true"|"false"` decides outright; otherwise the Pod turns ready
 * `lab.kube-nftlb.io/ready-after-ms` (or the lab's default delay) after its server started.
 */
export function readiness(
  annotations: Record<string, string> | undefined,
  startedAt: number,
  now: number,
  defaultDelayMs: number,
): Readiness {
  const forced = annotations?.[READY_ANNOTATION];
  if (forced === "true") return { ready: true, reason: "" };
  if (forced === "false")
    return { ready: false, reason: "LabNotReady", message: `${READY_ANNOTATION} is "false"` };
  if (forced !== undefined)
    return {
      ready: false,
      reason: "LabBadAnnotation",
      message: `${READY_ANNOTATION} must be "true" or "false", got ${JSON.stringify(forced)}`,
    };
  const raw = annotations?.[READY_AFTER_ANNOTATION];
  let delay = defaultDelayMs;
  if (raw !== undefined) {
    if (!/^\d{1,9}$/.test(raw))
      return {
        ready: false,
        reason: "LabBadAnnotation",
        message: `${READY_AFTER_ANNOTATION} must be a whole number of milliseconds, got ${JSON.stringify(raw)}`,
      };
    delay = Number(raw);
  }
  const at = startedAt + delay;
  if (now >= at) return { ready: true, reason: "" };
  return { ready: false, reason: "LabReadinessDelay", message: `ready in ${at - now} ms`, recheckAt: at };
}

export interface PodStatusInput {
  podIP: string;
  hostIP: string;
  startedAt: number;
  readiness: Readiness;
  containers: readonly string[];
  /** when readiness last changed, for lastTransitionTime */
  transitionAt: number;
}

const iso = (ms: number) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, "Z");

export function runningStatus(s: PodStatusInput): Record<string, unknown> {
  const started = iso(s.startedAt);
  const ready = s.readiness.ready ? "True" : "False";
  const readyCondition = (type: string) => ({
    type,
    status: ready,
    lastProbeTime: null,
    lastTransitionTime: iso(s.transitionAt),
    ...(s.readiness.ready ? {} : { reason: s.readiness.reason, message: s.readiness.message ?? "" }),
  });
  const ok = (type: string) => ({ type, status: "True", lastProbeTime: null, lastTransitionTime: started });
  return {
    phase: "Running",
    hostIP: s.hostIP,
    hostIPs: [{ ip: s.hostIP }],
    podIP: s.podIP,
    podIPs: [{ ip: s.podIP }],
    startTime: started,
    qosClass: "BestEffort",
    conditions: [
      ok("PodReadyToStartContainers"),
      ok("Initialized"),
      readyCondition("Ready"),
      readyCondition("ContainersReady"),
      ok("PodScheduled"),
    ],
    containerStatuses: s.containers.map((name) => ({
      name,
      ready: s.readiness.ready,
      started: true,
      restartCount: 0,
      image: "lab.kube-nftlb.io/pod-server",
      imageID: "",
      state: { running: { startedAt: started } },
    })),
  };
}
