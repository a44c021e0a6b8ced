// The Services and EndpointSlices the syncer benchmarks put into the API stand-in: namespace
// `bench`, one port `http` 80 → 8080, addresses numbered so that any count gets distinct IPs.
import { SERVICE_NAME_LABEL } from "../../kube/labels.ts";

/** Endpoint address number i (wraps after 62,500: enough for every benchmark here). */
export const ip = (i: number) => `10.205.${Math.floor(i / 250) % 250}.${(i % 250) + 1}`;
/** ClusterIP number i. */
export const cip = (i: number) => `10.96.${Math.floor(i / 250)}.${(i % 250) + 1}`;

export const service = (name: string, clusterIP: string) => ({
  apiVersion: "v1",
  kind: "Service",
  metadata: { name, namespace: "bench", uid: name, creationTimestamp: new Date().toISOString() },
  spec: {
    type: "ClusterIP",
    clusterIP,
    clusterIPs: [clusterIP],
    ports: [{ name: "http", port: 80, protocol: "TCP" }],
  },
});

/** The one EndpointSlice of Service `svc`: `n` ready endpoints from address number `offset`. */
export const slice = (svc: string, n: number, offset = 0) => ({
  apiVersion: "discovery.k8s.io/v1",
  kind: "EndpointSlice",
  metadata: { name: `${svc}-1`, namespace: "bench", labels: { [SERVICE_NAME_LABEL]: svc } },
  addressType: "IPv4",
  endpoints: Array.from({ length: n }, (_, i) => ({
    addresses: [ip(offset + i)],
    conditions: { ready: true },
  })),
  ports: [{ name: "http", port: 8080, protocol: "TCP" }],
});
