// kube-proxy's topology rules (pkg/proxy/topology.go), one row per case of its tests' kind:
// which endpoints a node in zone-a (node-a) uses for Cluster-policy traffic.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { clusterEndpoints, topologyMode, type NodeTopology } from "./topology.ts";
import { desired } from "./desired.ts";
import { service, slice } from "./desired-fixtures.test-helpers.ts";

interface E {
  ip: string;
  ready: boolean;
  serving: boolean;
  terminating: boolean;
  zoneHints?: string[];
  nodeHints?: string[];
}
const ep = (ip: string, zones?: string[], nodes?: string[], state: Partial<E> = {}): E => ({
  ip,
  ready: true,
  serving: true,
  terminating: false,
  ...(zones ? { zoneHints: zones } : {}),
  ...(nodes ? { nodeHints: nodes } : {}),
  ...state,
});
const NODE: NodeTopology = { name: "node-a", zone: "zone-a" };
const terminating = { ready: false, serving: true, terminating: true };

describe("topology: which endpoints a Cluster-policy farm gets", () => {
  const cases: [string, E[], NodeTopology, string, string[]][] = [
    ["no hints: all", [ep("1"), ep("2")], NODE, "", ["1", "2"]],
    [
      "all zone-hinted, own zone present: the zone's",
      [ep("1", ["zone-a"]), ep("2", ["zone-b"])],
      NODE,
      "PreferSameZone",
      ["1"],
    ],
    [
      "an endpoint hinted for several zones counts in each",
      [ep("1", ["zone-b", "zone-a"]), ep("2", ["zone-b"])],
      NODE,
      "PreferSameZone",
      ["1"],
    ],
    ["one ready endpoint without a hint: all", [ep("1", ["zone-a"]), ep("2")], NODE, "", ["1", "2"]],
    [
      "a not-ready endpoint without a hint does not count",
      [
        ep("1", ["zone-a"]),
        ep("2", ["zone-b"]),
        ep("3", undefined, undefined, { ready: false, serving: false }),
      ],
      NODE,
      "PreferSameZone",
      ["1"],
    ],
    [
      "no endpoint hinted for our zone: all",
      [ep("1", ["zone-b"]), ep("2", ["zone-c"])],
      NODE,
      "",
      ["1", "2"],
    ],
    [
      "node without a zone label: all",
      [ep("1", ["zone-a"]), ep("2", ["zone-b"])],
      { name: "node-a" },
      "",
      ["1", "2"],
    ],
    [
      "hinted for our zone but not ready: all ready ones",
      [
        ep("1", ["zone-a"], undefined, { ready: false, serving: false }),
        ep("2", ["zone-b"]),
        ep("3", ["zone-b"]),
      ],
      NODE,
      "",
      ["2", "3"],
    ],
    [
      "all node-hinted, one for this node: that one",
      [ep("1", ["zone-a"], ["node-a"]), ep("2", ["zone-a"], ["node-b"])],
      NODE,
      "PreferSameNode",
      ["1"],
    ],
    [
      "node hints for other nodes only: falls back to zone hints",
      [ep("1", ["zone-a"], ["node-c"]), ep("2", ["zone-b"], ["node-b"])],
      NODE,
      "PreferSameZone",
      ["1"],
    ],
    [
      "node hints on some endpoints only: zone hints",
      [ep("1", ["zone-a"], ["node-a"]), ep("2", ["zone-a"]), ep("3", ["zone-b"])],
      NODE,
      "PreferSameZone",
      ["1", "2"],
    ],
    [
      "no ready endpoint: serving-terminating ones, hints ignored",
      [ep("1", ["zone-b"], undefined, terminating), ep("2", ["zone-a"], undefined, terminating)],
      NODE,
      "",
      ["1", "2"],
    ],
  ];
  for (const [name, eps, node, mode, want] of cases)
    it(name, () => {
      assert.equal(topologyMode(eps, node), mode);
      assert.deepEqual(
        clusterEndpoints(eps, node).map((e) => e.ip),
        want,
      );
    });
});

describe("topology in desired: hints from the EndpointSlice, zone from the Node", () => {
  const hinted = (zone: string) => ({ hints: { forZones: [{ name: zone }] } });
  const sl = (second: object) => {
    const s = slice("web-1", [
      { ip: "10.244.0.5", node: "node-a" },
      { ip: "10.244.1.5", node: "node-b" },
    ]) as { endpoints: object[] };
    s.endpoints = [
      { ...s.endpoints[0], ...hinted("zone-a") },
      { ...s.endpoints[1], ...second },
    ];
    return s;
  };
  const backends = (svc: object, s: object, zone?: string) =>
    desired(svc, [s], {
      name: "node-a",
      addresses: ["192.168.1.10"],
      ...(zone ? { zone } : {}),
    }).farms.flatMap((f) => f.backends.map((b) => `${f.name}=${b["ip-addr"]}`));

  it("every endpoint hinted: the node's zone only", () =>
    assert.deepEqual(backends(service(), sl(hinted("zone-b")), "zone-a"), ["shop.web.http=10.244.0.5"]));
  it("one endpoint without hints: both", () =>
    assert.deepEqual(backends(service(), sl({}), "zone-a"), [
      "shop.web.http=10.244.0.5",
      "shop.web.http=10.244.1.5",
    ]));
  it("unlabelled node: both", () =>
    assert.deepEqual(backends(service(), sl(hinted("zone-b"))), [
      "shop.web.http=10.244.0.5",
      "shop.web.http=10.244.1.5",
    ]));
  it("internalTrafficPolicy Local ignores hints (its own node filter)", () =>
    assert.deepEqual(backends(service({ internalTrafficPolicy: "Local" }), sl(hinted("zone-a")), "zone-b"), [
      "shop.web.http=10.244.0.5",
    ]));
  it("garbage hints are no hints", () =>
    assert.deepEqual(backends(service(), sl({ hints: { forZones: [{ nom: "x" }, 7, null] } }), "zone-a"), [
      "shop.web.http=10.244.0.5",
      "shop.web.http=10.244.1.5",
    ]));
});
