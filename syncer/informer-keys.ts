// Informers → queue of keys. Keys, not events: every callback only says which Service to look at
// again (and tells the proxy status which one changed).
import type { V1Endpoints, V1EndpointSlice } from "@kubernetes/client-node";
import type { SupervisedInformer } from "../kube/informer.ts";
import { SERVICE_NAME_LABEL } from "../kube/labels.ts";
import type { Sources } from "../kube/sources.ts";
import type { SyncerMetrics } from "./metrics.ts";
import type { ProxyStatus } from "./proxy-status.ts";
import type { KeyQueue } from "./queue.ts";
import { FULL } from "./reconcile.ts";
import type { SyncTrace } from "./trace.ts";

export interface InformerKeysDeps {
  sources: Sources;
  queue: KeyQueue;
  status: ProxyStatus;
  metrics: SyncerMetrics;
  nodeName: string;
  trace?: SyncTrace | undefined;
}

export function enqueueChanges({ sources, queue, status, metrics, nodeName, trace }: InformerKeysDeps): void {
  const changed = (key: string) => {
    trace?.({ stage: "queued", at: performance.now(), keys: [key] });
    queue.add(key);
    metrics.lastQueued.set(Date.now() / 1000);
  };
  const key = (o: { metadata?: { namespace?: string; name?: string } }) =>
    `${o.metadata?.namespace ?? ""}/${o.metadata?.name ?? ""}`;
  sources.services.onChange((s) => {
    status.serviceChanged(key(s));
    changed(key(s));
  });
  if (sources.endpointsApi === "slices") {
    (sources.endpoints as SupervisedInformer<V1EndpointSlice>).onChange((s) => {
      const svc = s.metadata?.labels?.[SERVICE_NAME_LABEL];
      if (!svc) return;
      status.endpointsChanged(`${s.metadata?.namespace ?? ""}/${svc}`);
      changed(`${s.metadata?.namespace ?? ""}/${svc}`);
    });
  } else {
    (sources.endpoints as SupervisedInformer<V1Endpoints>).onChange((e) => {
      status.endpointsChanged(key(e));
      changed(key(e));
    });
  }
  sources.node.onChange(() => {
    status.nodeChanged(sources.node.get(nodeName));
    changed(FULL);
  });
}
