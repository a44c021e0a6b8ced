// What bench/lab-scale.ts applies with kubectl: N selector-less Services, each with one
// EndpointSlice of its own holding E ready endpoints, as a user (or a controller outside the
// cluster) writes them for backends that are not Pods. Not 10,000 Pods: a Pod in the lab is a
// network namespace with a server, and what is measured here is the way from `kubectl apply`
// to nftlb, not starting Pods. The endpoints' addresses need not answer: nothing sends traffic.
import { stringify } from "yaml";
import { SERVICE_NAME_LABEL } from "../../kube/labels.ts";
import { ip } from "./cluster-objects.ts";

export const NAMESPACE = "scale";
export const MANAGED_BY = "bench.kube-nftlb.io";
export const serviceName = (i: number) => `s${i}`;
/** The farm the syncer makes of Service i (one port, named `http`). */
export const farmName = (i: number) => `${NAMESPACE}.${serviceName(i)}.http`;

const service = (i: number) => ({
  apiVersion: "v1",
  kind: "Service",
  metadata: { name: serviceName(i), namespace: NAMESPACE },
  spec: { ports: [{ name: "http", port: 80, targetPort: 8080, protocol: "TCP" }] },
});

const slice = (i: number, endpoints: number) => ({
  apiVersion: "discovery.k8s.io/v1",
  kind: "EndpointSlice",
  metadata: {
    name: `${serviceName(i)}-1`,
    namespace: NAMESPACE,
    // managed-by: not the EndpointSlice controller's, which leaves these slices alone.
    labels: { [SERVICE_NAME_LABEL]: serviceName(i), "endpointslice.kubernetes.io/managed-by": MANAGED_BY },
  },
  addressType: "IPv4",
  ports: [{ name: "http", port: 8080, protocol: "TCP" }],
  endpoints: Array.from({ length: endpoints }, (_, e) => ({
    addresses: [ip(i * endpoints + e)],
    conditions: { ready: true },
  })),
});

/** One multi-document YAML file, each Service followed by its slice, as a user writes them. */
export const manifest = (n: number, endpoints: number): string =>
  Array.from({ length: n }, (_, i) => `${stringify(service(i))}---\n${stringify(slice(i, endpoints))}`).join(
    "---\n",
  );
