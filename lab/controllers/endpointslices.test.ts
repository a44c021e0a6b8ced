import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { desiredSlices, MAX_ENDPOINTS_PER_SLICE, type Pod, type ServiceForSlices } from "./endpointslices.ts";

const service = (over: Partial<ServiceForSlices["spec"]> = {}): ServiceForSlices => ({
  metadata: { name: "web", namespace: "shop" },
  spec: { selector: { app: "web" }, ports: [{ name: "http", port: 80, targetPort: "http" }], ...over },
});

const pod = (
  name: string,
  ip: string | string[],
  o: {
    ready?: boolean;
    deleting?: boolean;
    labels?: Record<string, string>;
    port?: number;
    ns?: string;
    phase?: string;
  } = {},
): Pod => ({
  metadata: {
    name,
    namespace: o.ns ?? "shop",
    uid: `uid-${name}`,
    labels: o.labels ?? { app: "web" },
    ...(o.deleting ? { deletionTimestamp: "2026-01-01T00:00:00Z" } : {}),
  },
  spec: { nodeName: "node-a", containers: [{ ports: [{ name: "http", containerPort: o.port ?? 8080 }] }] },
  status: {
    phase: o.phase ?? "Running",
    podIPs: (Array.isArray(ip) ? ip : [ip]).map((x) => ({ ip: x })),
    conditions: [{ type: "Ready", status: o.ready === false ? "False" : "True" }],
  },
});

describe("desiredSlices", () => {
  it("a Service without a selector is left alone", () => {
    assert.equal(desiredSlices(service({ selector: null }), [pod("a", "10.0.0.1")]), undefined);
    assert.equal(desiredSlices(service({ selector: {} }), [pod("a", "10.0.0.1")]), undefined);
  });

  it("matching Pods in the Service's namespace, named ports resolved, targetRef and nodeName set", () => {
    const slices = desiredSlices(service(), [
      pod("a", "10.0.0.1"),
      pod("other-app", "10.0.0.2", { labels: { app: "db" } }),
      pod("other-ns", "10.0.0.3", { ns: "elsewhere" }),
    ]);
    assert.deepEqual(slices, [
      {
        addressType: "IPv4",
        ports: [{ name: "http", protocol: "TCP", port: 8080 }],
        endpoints: [
          {
            addresses: ["10.0.0.1"],
            conditions: { ready: true, serving: true, terminating: false },
            nodeName: "node-a",
            targetRef: { kind: "Pod", name: "a", namespace: "shop", uid: "uid-a" },
          },
        ],
      },
    ]);
  });

  it("conditions: not ready, terminating, and finished Pods", () => {
    const slices = desiredSlices(service(), [
      pod("notready", "10.0.0.1", { ready: false }),
      pod("leaving", "10.0.0.2", { deleting: true }),
      pod("done", "10.0.0.3", { phase: "Succeeded" }),
    ]);
    const conds = Object.fromEntries(slices![0]!.endpoints.map((e) => [e.targetRef.name, e.conditions]));
    assert.deepEqual(conds, {
      leaving: { ready: false, serving: true, terminating: true },
      notready: { ready: false, serving: false, terminating: false },
    });
  });

  it("Pods mapping a named port differently get separate slices; a Pod without the port is skipped", () => {
    const noPort: Pod = { ...pod("bare", "10.0.0.9"), spec: { containers: [{ ports: [] }] } };
    const slices = desiredSlices(service(), [
      pod("a", "10.0.0.1", { port: 8080 }),
      pod("b", "10.0.0.2", { port: 9090 }),
      noPort,
    ]);
    assert.deepEqual(
      slices!.map((s) => [s.ports[0]!.port, s.endpoints.map((e) => e.targetRef.name)]),
      [
        [8080, ["a"]],
        [9090, ["b"]],
      ],
    );
  });

  it("dual-stack: one slice per family", () => {
    const slices = desiredSlices(service({ ipFamilies: ["IPv4", "IPv6"] }), [
      pod("a", ["10.0.0.1", "fd00::1"]),
    ]);
    assert.deepEqual(
      slices!.map((s) => [s.addressType, s.endpoints[0]!.addresses[0]]),
      [
        ["IPv4", "10.0.0.1"],
        ["IPv6", "fd00::1"],
      ],
    );
  });

  it(`at most ${MAX_ENDPOINTS_PER_SLICE} endpoints per slice`, () => {
    const pods = Array.from({ length: 250 }, (_, i) =>
      pod(`p${String(i).padStart(3, "0")}`, `10.1.${i >> 8}.${i & 255}`),
    );
    const slices = desiredSlices(service({ ports: [{ name: "http", port: 80, targetPort: 8080 }] }), pods)!;
    assert.deepEqual(
      slices.map((s) => s.endpoints.length),
      [100, 100, 50],
    );
  });
});

describe("desiredSlices: zones and trafficDistribution hints (the real controller's trafficdist)", () => {
  const zones: Record<string, string> = { "node-a": "zone-a" };
  const zoneOf = (n: string) => zones[n];
  const endpointsOf = (svc: ServiceForSlices, pods: Pod[], z = zoneOf) =>
    desiredSlices(svc, pods, z)![0]!.endpoints.map((e) => ({ zone: e.zone, hints: e.hints }));
  const cases: [string, string | undefined, Pod[], object[]][] = [
    [
      "no trafficDistribution: the zone, no hints",
      undefined,
      [pod("a", "10.0.0.1")],
      [{ zone: "zone-a", hints: undefined }],
    ],
    [
      "PreferClose: a hint for its own zone",
      "PreferClose",
      [pod("a", "10.0.0.1")],
      [{ zone: "zone-a", hints: { forZones: [{ name: "zone-a" }] } }],
    ],
    [
      "PreferSameZone: the same",
      "PreferSameZone",
      [pod("a", "10.0.0.1")],
      [{ zone: "zone-a", hints: { forZones: [{ name: "zone-a" }] } }],
    ],
    [
      "PreferSameNode: zone and node hints",
      "PreferSameNode",
      [pod("a", "10.0.0.1")],
      [{ zone: "zone-a", hints: { forZones: [{ name: "zone-a" }], forNodes: [{ name: "node-a" }] } }],
    ],
    [
      "not-ready endpoints get no hint",
      "PreferClose",
      [pod("a", "10.0.0.1", { ready: false })],
      [{ zone: "zone-a", hints: undefined }],
    ],
    [
      "an unknown distribution: no hints",
      "PreferFar",
      [pod("a", "10.0.0.1")],
      [{ zone: "zone-a", hints: undefined }],
    ],
  ];
  for (const [name, dist, pods, want] of cases)
    it(name, () =>
      assert.deepEqual(
        endpointsOf(service(dist === undefined ? {} : { trafficDistribution: dist }), pods),
        want,
      ),
    );
  it("a node without a zone label: no zone, no zone hint", () =>
    assert.deepEqual(
      endpointsOf(service({ trafficDistribution: "PreferClose" }), [pod("a", "10.0.0.1")], () => undefined),
      [{ zone: undefined, hints: undefined }],
    ));
});
