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
import { SERVICE_NAME_LABEL } from "./labels.ts";
import { Interner, slimEndpoints, slimEndpointSlice, slimService } from "./slim.ts";

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

/**
 * Objects per LIST page. One LIST of 10,000 EndpointSlices is held at once as the response, its
 * parsed tree and client-node's typed objects; V8 keeps the heap that peak needed. Pages of 2,500
 * cut the syncer's RSS at 10,000 Services × 10 endpoints by ~27 MiB (bench/syncer-memory.ts)
 * for three more round trips there, and change nothing below 2,500 objects.
 */
export const LIST_PAGE_SIZE = 2_500;

type Page<T extends KubernetesObject> = KubernetesListObject<T>;

/**
 * Lists every page (`limit` + `continue`) into one list. The pages of one list are one
 * consistent snapshot; the first page's resourceVersion is the list's. A failing page fails the
 * whole list (the informer then restarts with backoff and lists again from the start, as after
 * any failed list; a 410 for an expired continue token is one of those).
 */
export async function listAllPages<T extends KubernetesObject>(
  list: (page: { limit: number; _continue?: string }) => Promise<Page<T>>,
  pageSize = LIST_PAGE_SIZE,
): Promise<Page<T>> {
  const first = await list({ limit: pageSize });
  const items = [...first.items];
  for (let next = first.metadata?._continue; next;) {
    const page = await list({ limit: pageSize, _continue: next });
    items.push(...page.items);
    next = page.metadata?._continue;
  }
  return { ...first, metadata: { ...first.metadata, _continue: undefined }, items };
}

/** The watch phases that carry an object of the watched kind (BOOKMARK and ERROR do not). */
const OBJECT_PHASES = new Set(["ADDED", "MODIFIED", "DELETED"]);

/**
 * A Watch whose events carry `slim(object)`: ListWatch then stores, diffs and resumes (from the
 * slim object's resourceVersion) exactly as before, only on smaller objects.
 */
export class SlimWatch<T> extends Watch {
  readonly #slim: (obj: T) => T;
  constructor(kc: KubeConfig, slim: (obj: T) => T) {
    super(kc);
    this.#slim = slim;
  }
  override watch(...[path, query, callback, done]: Parameters<Watch["watch"]>): ReturnType<Watch["watch"]> {
    return super.watch(
      path,
      query,
      (phase, obj, watchObj) =>
        callback(phase, OBJECT_PHASES.has(phase) ? this.#slim(obj as T) : obj, watchObj),
      done,
    );
  }
}

function informer<T extends KubernetesObject>(
  o: SourcesOptions,
  name: string,
  path: string,
  list: () => Promise<KubernetesListObject<T>>,
  selectors: { label?: string; field?: string } = {},
  indexBy?: (obj: T) => string | undefined,
  slim: (obj: T) => T = (obj) => obj,
): SupervisedInformer<T> {
  const slimList = async () => {
    const l = await list();
    return { ...l, items: l.items.map(slim) };
  };
  return new SupervisedInformer<T>({
    name,
    makeListWatch: () =>
      new ListWatch<T>(path, new SlimWatch(o.kc, slim), slimList, false, selectors.label, selectors.field),
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
    () =>
      listAllPages((page) =>
        core.listServiceForAllNamespaces(label ? { ...page, labelSelector: label } : page),
      ),
    label ? { label } : {},
    undefined,
    slimService,
  );
  // One pool for both endpoint sources: node names, conditions and port lists recur in every slice.
  const pool = new Interner();
  const endpoints =
    o.endpointsApi === "slices"
      ? informer<V1EndpointSlice>(
          o,
          "endpointslices",
          "/apis/discovery.k8s.io/v1/endpointslices",
          () => listAllPages((page) => discovery.listEndpointSliceForAllNamespaces(page)),
          {},
          (s) => {
            const svc = s.metadata?.labels?.[SERVICE_NAME_LABEL];
            return svc ? `${s.metadata?.namespace ?? ""}/${svc}` : undefined;
          },
          (s) => slimEndpointSlice(s, pool),
        )
      : informer<V1Endpoints>(
          o,
          "endpoints",
          "/api/v1/endpoints",
          () => listAllPages((page) => core.listEndpointsForAllNamespaces(page)),
          {},
          undefined,
          (e) => slimEndpoints(e, pool),
        );
  const field = `metadata.name=${o.nodeName}`;
  const node = informer<V1Node>(o, "node", "/api/v1/nodes", () => core.listNode({ fieldSelector: field }), {
    field,
  });
  const all = () => [services, endpoints, node] as unknown as SupervisedInformer<KubernetesObject>[];
  return { services, endpoints, endpointsApi: o.endpointsApi, node, all };
}
