// The two endpoint sources give identical farms, and garbage in either never throws.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { desired, desiredFromEndpoints } from "./desired.ts";
import { groupsFromSlices } from "./endpoints.ts";
import { groupsFromEndpoints } from "./endpoints-v1.ts";
import { NODE, endpointsObject, service, slice, type Ep } from "./desired-fixtures.test-helpers.ts";

describe("v1 Endpoints as input", () => {
  const ready: Ep[] = [
    { ip: "10.244.0.5", pod: "web-a", node: "node-a" },
    { ip: "10.244.1.5", pod: "web-b", node: "node-b" },
    { ip: "10.0.0.9" },
  ];
  const notReady: Ep[] = [{ ip: "10.244.2.5", pod: "web-c", node: "node-c" }];
  const specs: [string, Record<string, unknown>][] = [
    ["ClusterIP", {}],
    [
      "NodePort, external Local",
      {
        type: "NodePort",
        externalTrafficPolicy: "Local",
        ports: [{ name: "http", port: 80, nodePort: 30080 }],
      },
    ],
    ["internal Local", { internalTrafficPolicy: "Local" }],
  ];
  for (const [name, spec] of specs) {
    it(`gives the same farms as the equivalent EndpointSlices: ${name}`, () => {
      const slices = [slice("web-1", [...ready, ...notReady.map((e) => ({ ...e, ready: false }))])];
      const fromSlices = desired(service(spec), slices, NODE);
      const fromEndpoints = desiredFromEndpoints(service(spec), [endpointsObject(ready, notReady)], NODE);
      assert.ok(
        fromSlices.farms.some((f) => f.backends.length > 0),
        "the comparison is not between two empty lists",
      );
      assert.deepEqual(fromEndpoints, fromSlices);
    });
  }

  it("named ports and several subsets resolve like slices", () => {
    const ports = [
      { name: "http", port: 8081 },
      { name: "metrics", port: 9090 },
    ];
    const a = endpointsObject([{ ip: "10.0.0.1" }], [], ports);
    const b = endpointsObject([{ ip: "10.0.0.2" }], [], [{ name: "http", port: 8082 }]);
    const merged = { ...a, subsets: [...(a.subsets as unknown[]), ...(b.subsets as unknown[])] };
    const farm = desiredFromEndpoints(service(), [merged], NODE).farms[0]!;
    assert.deepEqual(
      farm.backends.map((x) => `${x["ip-addr"]}:${x.port}`),
      ["10.0.0.1:8081", "10.0.0.2:8082"],
    );
  });

  it("only the Endpoints object of the Service's name and namespace counts", () => {
    const other = {
      ...endpointsObject([{ ip: "10.0.0.1" }], []),
      metadata: { name: "api", namespace: "shop" },
    };
    const elsewhere = {
      ...endpointsObject([{ ip: "10.0.0.2" }], []),
      metadata: { name: "web", namespace: "other" },
    };
    assert.deepEqual(groupsFromEndpoints([other, elsewhere], "shop", "web"), []);
  });
});

describe("garbage never throws", () => {
  const garbage: unknown[] = [
    null,
    undefined,
    42,
    "slice",
    [],
    {},
    { metadata: null },
    { metadata: { labels: { "kubernetes.io/service-name": "web" }, namespace: "shop" } },
    {
      metadata: { labels: { "kubernetes.io/service-name": "web" }, namespace: "shop" },
      addressType: "IPv4",
      endpoints: "x",
      ports: {},
    },
    {
      metadata: { labels: { "kubernetes.io/service-name": "web" }, namespace: "shop" },
      addressType: "IPv4",
      ports: [
        null,
        { name: 5, port: "80" },
        { name: "http", port: 70000 },
        { name: "http", port: 8080, protocol: "ICMP" },
      ],
      endpoints: [
        null,
        5,
        { addresses: "10.0.0.1" },
        { addresses: [7] },
        { addresses: ["fd00::1"] },
        { addresses: ["10.0.0.1"], conditions: "yes", targetRef: 3, nodeName: {} },
      ],
    },
    {
      metadata: { labels: { "kubernetes.io/service-name": "web" }, namespace: "shop" },
      addressType: "IPv4",
      ports: [{ name: "http", port: 8080 }],
      endpoints: [
        {
          addresses: ["10.0.0.1"],
          conditions: { ready: "true", serving: 1, terminating: null },
          targetRef: { kind: "Node", name: "n" },
        },
      ],
    },
  ];
  it("EndpointSlices with missing fields and wrong types: the usable endpoints only", () => {
    const farms = desired(service(), garbage, NODE).farms;
    // Only the last slice is usable: a wrongly typed condition counts as absent (ready), and a
    // targetRef to a Node names no Pod.
    assert.deepEqual(farms[0]?.backends, [
      { name: "10.0.0.1", "ip-addr": "10.0.0.1", port: "8080", state: "up" },
    ]);
  });
  it("slices given as something other than a list", () => {
    assert.deepEqual(groupsFromSlices("nope" as unknown as unknown[], "shop", "web"), []);
    assert.deepEqual(groupsFromEndpoints({} as unknown as unknown[], "shop", "web"), []);
  });
  it("Endpoints objects with missing fields and wrong types", () => {
    const objects = [
      null,
      { metadata: { name: "web", namespace: "shop" }, subsets: "x" },
      {
        metadata: { name: "web", namespace: "shop" },
        subsets: [null, { addresses: [null, { ip: 5 }, { ip: "bad" }], ports: [{ port: 8080 }] }],
      },
    ];
    assert.deepEqual(desiredFromEndpoints(service(), objects, NODE).farms[0]?.backends, []);
  });
  const services: unknown[] = [
    null,
    1,
    "svc",
    [],
    {},
    { kind: "Pod" },
    { metadata: {}, spec: { ports: "x" } },
    { metadata: { name: 5 } },
    { spec: null },
  ];
  for (const svc of services) {
    it(`a Service like ${JSON.stringify(svc)}: no farms, one error`, () => {
      const r = desired(svc, [], NODE);
      assert.deepEqual(r.farms, []);
      assert.equal(r.problems[0]?.severity, "error");
    });
  }
  it("a node with garbage addresses", () => {
    const r = desired(
      service({ type: "NodePort", ports: [{ name: "http", port: 80, nodePort: 30080 }] }),
      [],
      {
        name: "n",
        addresses: [null, "x"] as unknown as string[],
      },
    );
    assert.equal(r.farms.length, 1);
    assert.equal(r.problems.length, 2);
  });
  it("a Service object from an informer (no kind, creationTimestamp a Date)", () => {
    const { kind: _kind, ...svc } = service({}, { creationTimestamp: new Date("2024-05-01T10:00:00Z") });
    const r = desired(svc, [], NODE);
    assert.equal(r.farms.length, 1);
    assert.equal(r.service.creationTimestamp, "2024-05-01T10:00:00.000Z");
  });
});
