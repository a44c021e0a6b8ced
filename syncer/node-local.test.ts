// healthCheckNodePort answers and no-local-endpoint counts, as kube-proxy computes them.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { healthCheckAnswer, nodeLocal } from "./node-local.ts";
import { groupsFromSlices } from "./endpoints.ts";
import { service, slice, type Ep } from "./desired-fixtures.test-helpers.ts";

const LB = {
  type: "LoadBalancer",
  externalTrafficPolicy: "Local",
  healthCheckNodePort: 32000,
  ports: [{ name: "http", port: 80, nodePort: 30080, protocol: "TCP" }],
};
type Obj = Record<string, unknown>;
const local = (spec: Obj, eps: Ep[], meta: Obj = {}, ports?: Obj[]) =>
  nodeLocal(
    service(spec, meta),
    groupsFromSlices([slice("web-1", eps, ports ? { ports } : {})], "shop", "web"),
    "node-a",
  );

describe("healthCheckNodePort", () => {
  const cases: [string, Obj, Ep[], number | undefined][] = [
    [
      "LB + Local, one ready local endpoint",
      LB,
      [
        { ip: "10.0.0.1", node: "node-a" },
        { ip: "10.0.0.2", node: "node-b" },
      ],
      1,
    ],
    ["LB + Local, none here", LB, [{ ip: "10.0.0.2", node: "node-b" }], 0],
    [
      "terminating local endpoints do not count",
      LB,
      [{ ip: "10.0.0.1", node: "node-a", ready: false, serving: true, terminating: true }],
      0,
    ],
    ["not-ready local endpoints do not count", LB, [{ ip: "10.0.0.1", node: "node-a", ready: false }], 0],
    ["eTP Cluster: no health check", { ...LB, externalTrafficPolicy: "Cluster" }, [], undefined],
    ["NodePort + Local: none (kube-proxy: LoadBalancer only)", { ...LB, type: "NodePort" }, [], undefined],
    ["no healthCheckNodePort: none", { ...LB, healthCheckNodePort: undefined }, [], undefined],
    ["garbage healthCheckNodePort: none", { ...LB, healthCheckNodePort: "32000" }, [], undefined],
  ];
  for (const [name, spec, eps, want] of cases)
    it(name, () => assert.equal(local(spec, eps).healthCheck?.localEndpoints, want));

  it("one address on two ports is one endpoint", () => {
    const ports = [
      { name: "http", port: 8080, protocol: "TCP" },
      { name: "metrics", port: 9090, protocol: "TCP" },
    ];
    const two = nodeLocal(
      service(LB),
      groupsFromSlices(
        [
          slice("a", [{ ip: "10.0.0.1", node: "node-a" }], { ports }),
          slice("b", [{ ip: "10.0.0.1", node: "node-a" }]),
        ],
        "shop",
        "web",
      ),
      "node-a",
    );
    assert.equal(two.healthCheck?.localEndpoints, 1);
  });

  it("a Service for another proxy gets none", () =>
    assert.equal(
      local(LB, [{ ip: "10.0.0.1", node: "node-a" }], {
        labels: { "service.kubernetes.io/service-proxy-name": "other" },
      }).healthCheck,
      undefined,
    ));

  it("garbage in: nothing", () => {
    for (const g of [null, 7, "x", [], { spec: "x" }])
      assert.deepEqual(nodeLocal(g, [], "n").healthCheck, undefined);
  });

  it("the answer: kube-proxy's body, 200 only with local endpoints and a healthy proxy", () => {
    const hc = { namespace: "shop", name: "web", localEndpoints: 2 };
    const a = healthCheckAnswer(hc, true);
    assert.equal(a.status, 200);
    assert.equal(
      a.body,
      '{\n\t"service": {\n\t\t"namespace": "shop",\n\t\t"name": "web"\n\t},\n\t"localEndpoints": 2,\n\t"serviceProxyHealthy": true\n}',
    );
    assert.equal(healthCheckAnswer(hc, false).status, 503);
    assert.equal(healthCheckAnswer({ ...hc, localEndpoints: 0 }, true).status, 503);
  });
});

describe("no local endpoints (per Service port)", () => {
  const remote: Ep[] = [{ ip: "10.0.0.2", node: "node-b" }];
  const cases: [string, Obj, Ep[], { internal: number; external: number }][] = [
    ["eTP Local, endpoints elsewhere only", LB, remote, { internal: 0, external: 1 }],
    [
      "iTP Local, endpoints elsewhere only",
      { internalTrafficPolicy: "Local" },
      remote,
      { internal: 1, external: 0 },
    ],
    ["both Local", { ...LB, internalTrafficPolicy: "Local" }, remote, { internal: 1, external: 1 }],
    [
      "a local endpoint: none",
      LB,
      [...remote, { ip: "10.0.0.1", node: "node-a" }],
      { internal: 0, external: 0 },
    ],
    ["no endpoints anywhere: not counted (rejected instead)", LB, [], { internal: 0, external: 0 }],
    [
      "eTP Local on a ClusterIP Service means nothing",
      { externalTrafficPolicy: "Local" },
      remote,
      { internal: 0, external: 0 },
    ],
  ];
  for (const [name, spec, eps, want] of cases)
    it(name, () => assert.deepEqual(local(spec, eps).noLocalEndpoints, want));
});
