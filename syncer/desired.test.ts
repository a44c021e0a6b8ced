// One table per rule of SPEC §3 (Service + EndpointSlices → farms for one node).
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { desired, type DesiredOptions } from "./desired.ts";
import { MAX_FARM_NAME } from "./desired-names.ts";
import { NODE, service, slice, type Ep } from "./desired-fixtures.test-helpers.ts";
import type { Farm } from "../nftlb/types.ts";

const PREFIX = "service.kubernetes.io/kube-nftlb-load-balancer-";
const EPS: Ep[] = [
  { ip: "10.244.0.5", pod: "web-a", node: "node-a" },
  { ip: "10.244.1.5", pod: "web-b", node: "node-b" },
];
const farmsOf = (svc: unknown, slices: unknown[] = [slice("web-1", EPS)], opts?: DesiredOptions) =>
  desired(svc, slices, NODE, opts).farms;
const names = (farms: Farm[]) => farms.map((f) => f.name);
const vips = (f: Farm | undefined) => (f?.addresses ?? []).map((a) => `${a["ip-addr"]}:${a.ports}`);
const backendsOf = (f: Farm | undefined) =>
  (f?.backends ?? []).map((b) => `${b.name}=${b["ip-addr"]}:${b.port}`);

describe("farm names: <namespace>.<service>.<port>", () => {
  const cases: [string, unknown, string[]][] = [
    ["named port", service(), ["shop.web.http"]],
    ["unnamed port: its number", service({ ports: [{ port: 8443 }] }), ["shop.web.8443"]],
    ["no namespace: default", service({}, { namespace: undefined }), ["default.web.http"]],
    [
      "two ports: one farm each",
      service({
        ports: [
          { name: "http", port: 80 },
          { name: "https", port: 443 },
        ],
      }),
      ["shop.web.http", "shop.web.https"],
    ],
    [
      "dual-stack: an IPv6 farm with .v6",
      service({ clusterIPs: ["10.96.0.10", "fd00::10"] }),
      ["shop.web.http", "shop.web.http.v6"],
    ],
  ];
  for (const [name, svc, want] of cases) it(name, () => assert.deepEqual(names(farmsOf(svc)), want));

  it("names too long for nftlb's 199-character URIs are shortened, uniquely", () => {
    const ns = "n".repeat(63);
    const a = farmsOf(service({}, { namespace: ns, name: "s".repeat(63) }), []);
    const b = farmsOf(service({}, { namespace: ns, name: "s".repeat(62) + "t" }), []);
    assert.equal(a[0]!.name.length, MAX_FARM_NAME);
    assert.match(a[0]!.name, /^n{63}\.s+_[0-9a-f]{10}$/);
    assert.notEqual(a[0]!.name, b[0]!.name);
  });
});

describe("virtual addresses", () => {
  const nodePort = { type: "NodePort", ports: [{ name: "http", port: 80, nodePort: 30080 }] };
  const cases: [string, unknown, string[]][] = [
    ["ClusterIP: every clusterIP on the service port", service(), ["10.96.0.10:80"]],
    ["clusterIP alone when clusterIPs is absent", service({ clusterIPs: undefined }), ["10.96.0.10:80"]],
    [
      "NodePort: also the node's addresses on nodePort",
      service(nodePort),
      ["10.96.0.10:80", "192.168.1.10:30080"],
    ],
    [
      "LoadBalancer: nodePort and every ingress IP on the service port",
      service(
        { ...nodePort, type: "LoadBalancer" },
        {},
        { loadBalancer: { ingress: [{ ip: "203.0.113.7" }, { hostname: "lb.example" }] } },
      ),
      ["10.96.0.10:80", "192.168.1.10:30080", "203.0.113.7:80"],
    ],
    [
      "LoadBalancer ingress with ipMode Proxy is left to the load balancer (as kube-proxy does)",
      service(
        { type: "LoadBalancer" },
        {},
        { loadBalancer: { ingress: [{ ip: "203.0.113.7", ipMode: "Proxy" }] } },
      ),
      ["10.96.0.10:80"],
    ],
    [
      "the ingress status of a Service that is no longer a LoadBalancer is not programmed",
      service(nodePort, {}, { loadBalancer: { ingress: [{ ip: "203.0.113.7" }] } }),
      ["10.96.0.10:80", "192.168.1.10:30080"],
    ],
    [
      "externalIPs on the service port",
      service({ externalIPs: ["198.51.100.1"] }),
      ["10.96.0.10:80", "198.51.100.1:80"],
    ],
    [
      "an address given twice is listed once",
      service({ externalIPs: ["198.51.100.1", "198.51.100.1"] }),
      ["10.96.0.10:80", "198.51.100.1:80"],
    ],
    [
      "ClusterIP type ignores a stray nodePort",
      service({ ports: [{ name: "http", port: 80, nodePort: 30080 }] }),
      ["10.96.0.10:80"],
    ],
  ];
  for (const [name, svc, want] of cases) it(name, () => assert.deepEqual(vips(farmsOf(svc)[0]), want));

  it("invalid addresses are left out and reported, the rest is balanced", () => {
    const r = desired(service({ externalIPs: ["999.1.1.1", "198.51.100.1", "10.0.0.1/24"] }), [], {
      name: "n",
      addresses: ["nope"],
    });
    assert.deepEqual(vips(r.farms[0]), ["10.96.0.10:80", "198.51.100.1:80"]);
    assert.deepEqual(
      r.problems.map((p) => p.message),
      [
        '"nope" is not an IP address: skipped',
        '"999.1.1.1" is not an IP address: skipped',
        '"10.0.0.1/24" is not an IP address: skipped',
      ],
    );
  });

  it("address names say protocol, address and port; IPv6 colons become dashes", () => {
    const farms = farmsOf(service({ clusterIPs: ["10.96.0.10", "fd00:0::10"] }));
    assert.deepEqual(
      farms.map((f) => f.addresses.map((a) => [a.name, a.family, a["ip-addr"]])),
      [[["tcp-10.96.0.10-80", "ipv4", "10.96.0.10"]], [["tcp-fd00--10-80", "ipv6", "fd00::10"]]],
    );
  });
});

describe("protocols", () => {
  const cases: [unknown, string][] = [
    [undefined, "tcp"],
    ["TCP", "tcp"],
    ["UDP", "udp"],
    ["SCTP", "sctp"],
  ];
  for (const [protocol, want] of cases) {
    it(`${String(protocol)} → ${want}`, () => {
      const f = farmsOf(service({ ports: [{ name: "p", port: 53, protocol }] }), [
        slice("s", EPS, { ports: [{ name: "p", port: 5353, protocol }] }),
      ])[0]!;
      assert.equal(f.protocol, want);
      assert.deepEqual(new Set(f.addresses.map((a) => a.protocol)), new Set([want]));
      assert.equal(f.backends.length, 2, "slice ports match by protocol too");
    });
  }
});

describe("dual stack: each family its own addresses and backends", () => {
  it("IPv4 and IPv6 farms never mix families", () => {
    const svc = service({
      type: "NodePort",
      clusterIPs: ["10.96.0.10", "fd00::10"],
      ports: [{ name: "http", port: 80, nodePort: 30080 }],
    });
    const v6 = slice("web-v6", [{ ip: "fd00:244::5", pod: "web-a" }]);
    const [f4, f6] = farmsOf(svc, [slice("web-v4", EPS), v6]);
    assert.deepEqual(
      [f4!.family, vips(f4), backendsOf(f4)],
      ["ipv4", ["10.96.0.10:80", "192.168.1.10:30080"], ["web-a=10.244.0.5:8080", "web-b=10.244.1.5:8080"]],
    );
    assert.deepEqual(
      [f6!.family, vips(f6), backendsOf(f6)],
      ["ipv6", ["fd00::10:80", "fd01::10:30080"], ["web-a=fd00:244::5:8080"]],
    );
  });
  it("a single-stack NodePort is not opened on the node's IPv6 addresses (as kube-proxy)", () => {
    const svc = service({ type: "NodePort", ports: [{ name: "http", port: 80, nodePort: 30080 }] });
    assert.deepEqual(names(farmsOf(svc)), ["shop.web.http"]);
  });
  it("a single-stack Service gets no IPv6 farm even with IPv6 endpoints", () => {
    assert.deepEqual(names(farmsOf(service(), [slice("v6", [{ ip: "fd00::5" }])])), ["shop.web.http"]);
  });
});

describe("backends", () => {
  const cases: [string, unknown[], string[]][] = [
    [
      "Pod name from targetRef, target port from the slice",
      [slice("a", EPS)],
      ["web-a=10.244.0.5:8080", "web-b=10.244.1.5:8080"],
    ],
    [
      "no targetRef: the address names the backend",
      [slice("a", [{ ip: "10.0.0.1" }, { ip: "10.0.0.2" }])],
      ["10.0.0.1=10.0.0.1:8080", "10.0.0.2=10.0.0.2:8080"],
    ],
    [
      "every slice labelled with the Service counts",
      [slice("a", [EPS[0]!]), slice("b", [EPS[1]!])],
      ["web-a=10.244.0.5:8080", "web-b=10.244.1.5:8080"],
    ],
    [
      "deduplicated by address across slices",
      [slice("a", EPS), slice("b", [EPS[0]!])],
      ["web-a=10.244.0.5:8080", "web-b=10.244.1.5:8080"],
    ],
    [
      "a ready copy of a duplicate wins",
      [slice("a", [{ ...EPS[0]!, ready: false }]), slice("b", [EPS[0]!])],
      ["web-a=10.244.0.5:8080"],
    ],
    ["slices of another Service are ignored", [slice("a", EPS, { svc: "api" })], []],
    ["slices in another namespace are ignored", [slice("a", EPS, { ns: "other" })], []],
    ["FQDN slices are ignored", [slice("a", [{ ip: "10.0.0.1" }], { type: "FQDN" })], []],
    [
      "ready absent means ready",
      [slice("a", [{ ip: "10.0.0.1", ready: undefined }])],
      ["10.0.0.1=10.0.0.1:8080"],
    ],
    [
      "not-ready endpoints never serve while one is ready",
      [slice("a", [{ ip: "10.0.0.1" }, { ip: "10.0.0.2", ready: false }])],
      ["10.0.0.1=10.0.0.1:8080"],
    ],
    [
      "none ready: fall back to serving and terminating ones",
      [
        slice("a", [
          { ip: "10.0.0.1", ready: false, serving: true, terminating: true },
          { ip: "10.0.0.2", ready: false, serving: false, terminating: true },
          { ip: "10.0.0.3", ready: false },
        ]),
      ],
      ["10.0.0.1=10.0.0.1:8080"],
    ],
    [
      "named targetPort: the slice port with the Service port's name",
      [
        slice("a", [{ ip: "10.0.0.1" }], {
          ports: [
            { name: "metrics", port: 9090 },
            { name: "http", port: 8081 },
          ],
        }),
      ],
      ["10.0.0.1=10.0.0.1:8081"],
    ],
    [
      "a slice without the port serves nothing for it",
      [slice("a", [{ ip: "10.0.0.1" }], { ports: [{ name: "grpc", port: 9000 }] })],
      [],
    ],
    [
      "a slice port of another protocol does not match",
      [slice("a", [{ ip: "10.0.0.1" }], { ports: [{ name: "http", port: 8080, protocol: "UDP" }] })],
      [],
    ],
    [
      "two endpoints of one Pod name keep unique names",
      [
        slice("a", [
          { ip: "10.0.0.1", pod: "p" },
          { ip: "10.0.0.2", pod: "p" },
        ]),
      ],
      ["p_10.0.0.1=10.0.0.1:8080", "p_10.0.0.2=10.0.0.2:8080"],
    ],
  ];
  for (const [name, slices, want] of cases) {
    it(name, () => assert.deepEqual(backendsOf(farmsOf(service(), slices)[0]), want));
  }

  it("IPv6 backends: names without colons, one per address", () => {
    const svc = service({ clusterIPs: ["fd00::10"], clusterIP: "fd00::10" });
    const f = farmsOf(svc, [slice("a", [{ ip: "fd00::1" }, { ip: "fd00::2" }])])[0]!;
    assert.deepEqual(backendsOf(f), ["fd00--1=fd00::1:8080", "fd00--2=fd00::2:8080"]);
  });

  it("every backend is sent up (nftlb's default is config_error)", () => {
    assert.deepEqual(
      farmsOf(service())[0]!.backends.map((b) => b.state),
      ["up", "up"],
    );
  });

  it("a long Pod name is shortened below nftlb's URI limit", () => {
    const f = farmsOf(service(), [slice("a", [{ ip: "10.0.0.1", pod: "p".repeat(253) }])])[0]!;
    assert.equal(f.backends[0]!.name.length, 80);
  });
});

describe("traffic policies Local: only this node's endpoints", () => {
  const nodePort = { type: "NodePort", ports: [{ name: "http", port: 80, nodePort: 30080 }] };
  const local = ["web-a=10.244.0.5:8080"];
  const all = ["web-a=10.244.0.5:8080", "web-b=10.244.1.5:8080"];
  const cases: [string, Record<string, unknown>, [string, string[], string[]][]][] = [
    [
      "both Cluster: one farm, every endpoint",
      nodePort,
      [["shop.web.http", ["10.96.0.10:80", "192.168.1.10:30080"], all]],
    ],
    [
      "internal Local: ClusterIPs local, external addresses in .ext with all",
      { ...nodePort, internalTrafficPolicy: "Local" },
      [
        ["shop.web.http", ["10.96.0.10:80"], local],
        ["shop.web.http.ext", ["192.168.1.10:30080"], all],
      ],
    ],
    [
      "external Local: ClusterIPs all, external addresses in .ext with local ones",
      { ...nodePort, externalTrafficPolicy: "Local" },
      [
        ["shop.web.http", ["10.96.0.10:80"], all],
        ["shop.web.http.ext", ["192.168.1.10:30080"], local],
      ],
    ],
    [
      "both Local: one farm, local endpoints",
      { ...nodePort, internalTrafficPolicy: "Local", externalTrafficPolicy: "Local" },
      [["shop.web.http", ["10.96.0.10:80", "192.168.1.10:30080"], local]],
    ],
    [
      "external Local with externalIPs on a ClusterIP Service",
      { externalTrafficPolicy: "Local", externalIPs: ["198.51.100.1"] },
      [
        ["shop.web.http", ["10.96.0.10:80"], all],
        ["shop.web.http.ext", ["198.51.100.1:80"], local],
      ],
    ],
    [
      "external Local means nothing to a plain ClusterIP Service",
      { externalTrafficPolicy: "Local" },
      [["shop.web.http", ["10.96.0.10:80"], all]],
    ],
    [
      "Local with no local endpoint: none (never another node's)",
      { internalTrafficPolicy: "Local", clusterIPs: ["10.96.0.10"] },
      [["shop.web.http", ["10.96.0.10:80"], local]],
    ],
  ];
  for (const [name, spec, want] of cases) {
    it(name, () =>
      assert.deepEqual(
        farmsOf(service(spec)).map((f) => [f.name, vips(f), backendsOf(f)]),
        want,
      ),
    );
  }

  it("the fallback to terminating endpoints applies among the local ones", () => {
    const eps = [
      { ip: "10.244.0.5", node: "node-a", ready: false, serving: true, terminating: true },
      { ip: "10.244.1.5", node: "node-b" },
    ];
    const f = farmsOf(service({ internalTrafficPolicy: "Local" }), [slice("a", eps)])[0]!;
    assert.deepEqual(backendsOf(f), ["10.244.0.5=10.244.0.5:8080"]);
  });
});

describe("annotation settings", () => {
  const cases: [string, Record<string, string>, Record<string, unknown>, Partial<Farm>][] = [
    [
      "defaults",
      {},
      {},
      {
        mode: "snat",
        scheduler: "rr",
        "sched-param": "none",
        persistence: "none",
        "persist-ttl": "60",
        helper: "none",
        log: "none",
      },
    ],
    ["hash-srcip", { scheduler: "hash-srcip" }, {}, { scheduler: "hash", "sched-param": "srcip" }],
    [
      "persistence from sessionAffinity, TTL base 10",
      {},
      { sessionAffinity: "ClientIP", sessionAffinityConfig: { clientIP: { timeoutSeconds: 100 } } },
      { persistence: "srcip", "persist-ttl": "100" },
    ],
    ["log names the Service", { log: "output" }, {}, { log: "output", "log-prefix": "k8s shop/web " }],
    ["invalid value: the default", { mode: "SNAT" }, {}, { mode: "snat" }],
  ];
  for (const [name, annotations, spec, want] of cases) {
    it(name, () => {
      const a = Object.fromEntries(Object.entries(annotations).map(([k, v]) => [PREFIX + k, v]));
      const f = farmsOf(service(spec, { annotations: a }))[0]! as unknown as Record<string, unknown>;
      for (const [k, v] of Object.entries(want)) assert.equal(f[k], v, k);
    });
  }

  it("invalid annotations are reported as errors and the Service is still balanced", () => {
    const r = desired(
      service({}, { annotations: { [PREFIX + "schedular"]: "rr", [PREFIX + "mode"]: "SNAT" } }),
      [],
      NODE,
    );
    assert.equal(r.farms.length, 1);
    assert.deepEqual(
      r.problems.map((p) => [p.severity, p.key]),
      [
        ["error", PREFIX + "schedular"],
        ["error", PREFIX + "mode"],
      ],
    );
    assert.match(r.problems[1]!.message, /did you mean "snat"\?.*the default applies/);
  });

  it("cluster defaults apply to absent annotations", () => {
    const f = farmsOf(service(), [], {
      defaults: { mode: "dnat", scheduler: "symhash", helper: "none", log: "none" },
    })[0]!;
    assert.deepEqual([f.mode, f.scheduler], ["dnat", "symhash"]);
  });
});

describe("mode dsr: the proven farm shape (test/modes-traffic.test.ts, test/dataplane-dsr.test.ts)", () => {
  // dsr needs a per-flow scheduler (annotations/ refuses it with rr).
  const dsr = { [PREFIX + "mode"]: "dsr", [PREFIX + "scheduler"]: "hash-srcip-srcport" };
  const NIC = { iface: "eth0", ifaceMac: "52:54:00:12:34:56", oface: "cni0" };
  // targetPort == port, as the contract demands; the slice's port is the Service port too.
  const svc = (spec: Record<string, unknown> = {}) =>
    service(
      { ports: [{ name: "http", port: 8080, protocol: "TCP", targetPort: 8080 }], ...spec },
      {
        annotations: dsr,
      },
    );
  const same = [slice("web-1", EPS, { ports: [{ name: "http", port: 8080, protocol: "TCP" }] })];

  it("iface and ether-addr on every address, oface on the farm, no farm-level iface", () => {
    const r = desired(svc({ externalIPs: ["203.0.113.7"] }), same, NODE, NIC);
    const f = r.farms[0]!;
    assert.deepEqual([f.mode, f.iface, f.oface], ["dsr", undefined, "cni0"]);
    assert.deepEqual(
      f.addresses.map((a) => [a["ip-addr"], a.iface, a["ether-addr"]]),
      [
        ["10.96.0.10", "eth0", "52:54:00:12:34:56"],
        ["203.0.113.7", "eth0", "52:54:00:12:34:56"],
      ],
    );
    assert.deepEqual(
      r.problems.filter((p) => p.severity === "error"),
      [],
    );
  });
  it('backends keep the client\'s destination port: port ""', () => {
    assert.deepEqual(backendsOf(desired(svc(), same, NODE, NIC).farms[0]), [
      "web-a=10.244.0.5:",
      "web-b=10.244.1.5:",
    ]);
  });
  it('a named targetPort whose endpoints listen elsewhere: port "" still, and a warning', () => {
    const named = service({ ports: [{ name: "http", port: 80, targetPort: "http" }] }, { annotations: dsr });
    const r = desired(named, [slice("web-1", EPS)], NODE, NIC);
    assert.deepEqual(backendsOf(r.farms[0]), ["web-a=10.244.0.5:", "web-b=10.244.1.5:"]);
    const w = r.problems.find((p) => p.key === "spec.ports");
    assert.equal(w?.severity, "warning");
    assert.match(w?.message ?? "", /keeps the destination port 80, but endpoints listen on 8080/);
  });
  it("a named targetPort on the Service port: no warning", () => {
    const named = service(
      { ports: [{ name: "http", port: 8080, targetPort: "http" }] },
      { annotations: dsr },
    );
    assert.equal(
      desired(named, same, NODE, NIC).problems.some((p) => p.key === "spec.ports"),
      false,
    );
  });
  for (const missing of ["iface", "ifaceMac", "oface"] as const) {
    it(`without the node's ${missing}: an error, and the farm is served in snat with its ports`, () => {
      const r = desired(svc(), same, NODE, { ...NIC, [missing]: undefined });
      assert.ok(
        r.problems.some((p) => p.severity === "error" && /mode dsr needs the node's/.test(p.message)),
        JSON.stringify(r.problems),
      );
      const f = r.farms[0]!;
      assert.deepEqual([f.mode, f.oface, f.addresses[0]!.iface], ["snat", undefined, undefined]);
      assert.deepEqual(backendsOf(f), ["web-a=10.244.0.5:8080", "web-b=10.244.1.5:8080"]);
    });
  }
  it("stlsdnat is refused by the contract: the farm falls back to the default mode, without interfaces", () => {
    const r = desired(service({}, { annotations: { [PREFIX + "mode"]: "stlsdnat" } }), [], NODE, NIC);
    assert.deepEqual(
      r.farms.map((f) => [f.mode, f.iface, f.oface, f.addresses[0]!.iface]),
      [["snat", undefined, undefined, undefined]],
    );
    assert.match(r.problems[0]?.message ?? "", /stlsdnat" cannot work for pod backends/);
  });
  it("snat farms carry no interfaces and keep their backend ports", () => {
    const f = farmsOf(service(), [slice("web-1", EPS)], NIC)[0]!;
    assert.deepEqual(
      [f.iface, f.oface, f.addresses[0]!.iface, f.addresses[0]!["ether-addr"]],
      [undefined, undefined, undefined, undefined],
    );
    assert.deepEqual(backendsOf(f), ["web-a=10.244.0.5:8080", "web-b=10.244.1.5:8080"]);
  });
});

describe("Services not balanced give no farms", () => {
  const cases: [string, unknown][] = [
    ["headless", service({ clusterIP: "None", clusterIPs: ["None"] })],
    ["ExternalName", service({ type: "ExternalName", externalName: "db.example" })],
    [
      "labelled for another proxy",
      service({}, { labels: { "service.kubernetes.io/service-proxy-name": "other" } }),
    ],
    ["no ports", service({ ports: [] })],
  ];
  for (const [name, svc] of cases) it(name, () => assert.deepEqual(farmsOf(svc), []));

  it("alongside kube-proxy, only Services labelled for kube-nftlb", () => {
    const scope = { proxyName: "kube-nftlb", mode: "alongside" as const };
    assert.equal(farmsOf(service(), [], { scope }).length, 0);
    const ours = service({}, { labels: { "service.kubernetes.io/service-proxy-name": "kube-nftlb" } });
    assert.equal(farmsOf(ours, [], { scope }).length, 1);
  });
});
