// Small builders for the desired/plan tests: a Service, an EndpointSlice, an Endpoints object.
// Everything not given takes the value a real cluster would show for a plain ClusterIP Service.

export const NODE = { name: "node-a", addresses: ["192.168.1.10", "fd01::10"] };

type Obj = Record<string, unknown>;

export function service(spec: Obj = {}, meta: Obj = {}, status?: Obj): Obj {
  return {
    apiVersion: "v1",
    kind: "Service",
    metadata: { name: "web", namespace: "shop", ...meta },
    spec: {
      type: "ClusterIP",
      clusterIP: "10.96.0.10",
      clusterIPs: ["10.96.0.10"],
      ports: [{ name: "http", port: 80, protocol: "TCP", targetPort: "http" }],
      ...spec,
    },
    ...(status === undefined ? {} : { status }),
  };
}

export interface Ep {
  ip: string;
  pod?: string;
  node?: string;
  ready?: boolean;
  serving?: boolean;
  terminating?: boolean;
}

export function slice(
  name: string,
  endpoints: Ep[],
  opts: { svc?: string; ns?: string; type?: string; ports?: Obj[] } = {},
): Obj {
  return {
    apiVersion: "discovery.k8s.io/v1",
    kind: "EndpointSlice",
    metadata: {
      name,
      namespace: opts.ns ?? "shop",
      labels: { "kubernetes.io/service-name": opts.svc ?? "web" },
    },
    addressType: opts.type ?? (endpoints[0]?.ip.includes(":") ? "IPv6" : "IPv4"),
    ports: opts.ports ?? [{ name: "http", port: 8080, protocol: "TCP" }],
    endpoints: endpoints.map((e) => ({
      addresses: [e.ip],
      ...(e.node === undefined ? {} : { nodeName: e.node }),
      ...(e.pod === undefined
        ? {}
        : { targetRef: { kind: "Pod", name: e.pod, namespace: opts.ns ?? "shop" } }),
      conditions: {
        ...(e.ready === undefined ? {} : { ready: e.ready }),
        ...(e.serving === undefined ? {} : { serving: e.serving }),
        ...(e.terminating === undefined ? {} : { terminating: e.terminating }),
      },
    })),
  };
}

/** The v1 Endpoints object carrying the same ready and not-ready addresses. */
export function endpointsObject(
  ready: Ep[],
  notReady: Ep[],
  ports: Obj[] = [{ name: "http", port: 8080, protocol: "TCP" }],
): Obj {
  const addr = (e: Ep): Obj => ({
    ip: e.ip,
    ...(e.node === undefined ? {} : { nodeName: e.node }),
    ...(e.pod === undefined ? {} : { targetRef: { kind: "Pod", name: e.pod, namespace: "shop" } }),
  });
  return {
    apiVersion: "v1",
    kind: "Endpoints",
    metadata: { name: "web", namespace: "shop" },
    subsets: [{ addresses: ready.map(addr), notReadyAddresses: notReady.map(addr), ports }],
  };
}
