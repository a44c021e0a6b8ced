// The objects the syncer watches, as supervised informers over client-node's ListWatch:
// Services, EndpointSlices (or v1 Endpoints), and this node's own Node object.
import {
  CoreV1Api,
  DiscoveryV1Api,
  ListWatch,
  Watch,
  type KubeConfig,
  type KubernetesListObject,
  type KubernetesObject,
  type V1Endpoints,
  type V1EndpointSlice,
  type V1Node,
  type V1Service,
} from "@kubernetes/client-node";
import { SupervisedInformer, type InformerLog } from "./informer.ts";
import type { Timers } from "./timers.ts";

export const SERVICE_NAME_LABEL = "kubernetes.io/service-name";
export const SERVICE_PROXY_NAME_LABEL = "service.kubernetes.io/service-proxy-name";

export type EndpointsApi = "slices" | "endpoints";

export interface SourcesOptions {
  kc: KubeConfig;
  nodeName: string;
  endpointsApi: EndpointsApi;
  /** Label selector for Services (e.g. `service.kubernetes.io/service-proxy-name=kube-nftlb`). */
  serviceSelector?: string;
  resyncMs: number;
  timers?: Timers;
  log?: InformerLog;
}

export interface Sources {
  services: SupervisedInformer<V1Service>;
  /** EndpointSlices indexed by `namespace/service-name`, or v1 Endpoints indexed by `namespace/name`. */
  endpoints: SupervisedInformer<V1EndpointSlice> | SupervisedInformer<V1Endpoints>;
  endpointsApi: EndpointsApi;
  node: SupervisedInformer<V1Node>;
  all(): SupervisedInformer<KubernetesObject>[];
}

function informer<T extends KubernetesObject>(
  o: SourcesOptions,
  name: string,
  path: string,
  list: () => Promise<KubernetesListObject<T>>,
  selectors: { label?: string; field?: string } = {},
  indexBy?: (obj: T) => string | undefined,
): SupervisedInformer<T> {
  return new SupervisedInformer<T>({
    name,
    makeListWatch: () =>
      new ListWatch<T>(path, new Watch(o.kc), list, false, selectors.label, selectors.field),
    resyncMs: o.resyncMs,
    ...(o.timers ? { timers: o.timers } : {}),
    ...(o.log ? { log: o.log } : {}),
    ...(indexBy ? { indexBy } : {}),
  });
}

export function makeSources(o: SourcesOptions): Sources {
  const core = o.kc.makeApiClient(CoreV1Api);
  const discovery = o.kc.makeApiClient(DiscoveryV1Api);
  const label = o.serviceSelector;
  const services = informer<V1Service>(
    o,
    "services",
    "/api/v1/services",
    () => core.listServiceForAllNamespaces(label ? { labelSelector: label } : {}),
    label ? { label } : {},
  );
  const endpoints =
    o.endpointsApi === "slices"
      ? informer<V1EndpointSlice>(
          o,
          "endpointslices",
          "/apis/discovery.k8s.io/v1/endpointslices",
          () => discovery.listEndpointSliceForAllNamespaces({}),
          {},
          (s) => {
            const svc = s.metadata?.labels?.[SERVICE_NAME_LABEL];
            return svc ? `${s.metadata?.namespace ?? ""}/${svc}` : undefined;
          },
        )
      : informer<V1Endpoints>(o, "endpoints", "/api/v1/endpoints", () =>
          core.listEndpointsForAllNamespaces({}),
        );
  const field = `metadata.name=${o.nodeName}`;
  const node = informer<V1Node>(o, "node", "/api/v1/nodes", () => core.listNode({ fieldSelector: field }), {
    field,
  });
  const all = () => [services, endpoints, node] as unknown as SupervisedInformer<KubernetesObject>[];
  return { services, endpoints, endpointsApi: o.endpointsApi, node, all };
}
