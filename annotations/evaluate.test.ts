import { describe, it } from "node:test";
import assert from "node:assert/strict";
import {
  evaluateService,
  fullKey,
  HELPER_PROTOCOLS,
  HELPERS,
  KEYS,
  KEY_SUFFIXES,
  LOGS,
  MODES,
  PERSISTENCES,
  SCHEDULERS,
  SERVICE_PROXY_NAME_LABEL,
  UNIMPLEMENTED_HELPERS,
  type Protocol,
  type Service,
} from "./index.ts";

interface SvcOpts {
  annotations?: Record<string, unknown>;
  spec?: Partial<Service["spec"]>;
  labels?: Record<string, string>;
  protocols?: Protocol[];
}

function svc(o: SvcOpts = {}): Service {
  return {
    kind: "Service",
    metadata: { name: "web", namespace: "shop", annotations: o.annotations ?? {}, labels: o.labels ?? {} },
    spec: {
      ports: (o.protocols ?? ["TCP"]).map((protocol, i) => ({ name: `p${i}`, port: 80 + i, protocol })),
      ...o.spec,
    },
  };
}

const annotated = (suffix: string, value: unknown, extra: Omit<SvcOpts, "annotations"> = {}) =>
  svc({ ...extra, annotations: { [fullKey(suffix)]: value } });

describe("every key × every value", () => {
  const expected: Record<string, Record<string, Record<string, string>>> = {
    mode: Object.fromEntries(MODES.map((m) => [m, { mode: m }])),
    scheduler: {
      rr: { scheduler: "rr", "sched-param": "none" },
      symhash: { scheduler: "symhash", "sched-param": "none" },
      "hash-srcip": { scheduler: "hash", "sched-param": "srcip" },
      "hash-srcip-srcport": { scheduler: "hash", "sched-param": "srcip srcport" },
    },
    persistence: {
      none: { persistence: "none" },
      srcip: { persistence: "srcip" },
      srcport: { persistence: "srcport" },
      srcmac: { persistence: "srcmac" },
      "srcip-srcport": { persistence: "srcip srcport" },
      "srcip-dstport": { persistence: "srcip dstport" },
    },
    helper: Object.fromEntries(HELPERS.map((h) => [h, { helper: h }])),
    log: {
      none: { log: "none" },
      output: { log: "output", "log-prefix": "k8s shop/web " },
      forward: { log: "forward", "log-prefix": "k8s shop/web " },
    },
  };
  for (const suffix of KEY_SUFFIXES) {
    for (const value of KEYS[suffix].values) {
      it(`${suffix}=${value}`, () => {
        // A helper is checked against protocols: give each helper a protocol it supports.
        const protocols: Protocol[] =
          suffix === "helper" && value !== "none" ? [HELPER_PROTOCOLS[value as "ftp"][0]!] : ["TCP"];
        const base = annotated(suffix, value, { protocols });
        // dsr is only valid with a per-flow scheduler (see "mode dsr" below).
        if (value === "dsr") base.metadata.annotations![fullKey("scheduler")] = "symhash";
        const r = evaluateService(base);
        assert.deepEqual(r.errors, []);
        assert.deepEqual(r.warnings.length, value === "dsr" ? 1 : 0);
        assert.equal(r.choices[suffix], value);
        const fields = expected[suffix]?.[value];
        assert.ok(fields, `expected fields for ${suffix}=${value}`);
        for (const [field, v] of Object.entries(fields)) {
          assert.equal((r.settings as unknown as Record<string, string>)[field], v, field);
        }
        if (suffix !== "log") assert.equal(r.settings["log-prefix"], undefined);
      });
    }
  }
});

describe("defaults", () => {
  it("a Service without annotations gets the table's defaults", () => {
    const r = evaluateService(svc());
    assert.deepEqual(r.errors, []);
    assert.deepEqual(r.settings, {
      mode: "snat",
      scheduler: "rr",
      "sched-param": "none",
      persistence: "none",
      "persist-ttl": "60",
      helper: "none",
      log: "none",
    });
  });
  it("cluster defaults replace the built-in ones", () => {
    const r = evaluateService(svc(), {
      defaults: { mode: "dnat", scheduler: "symhash", helper: "none", log: "output" },
    });
    assert.equal(r.settings.mode, "dnat");
    assert.equal(r.settings.scheduler, "symhash");
    assert.equal(r.settings.log, "output");
  });
  it("an invalid value falls back to the default and reports an error", () => {
    const r = evaluateService(annotated("mode", "fast"), {
      defaults: { mode: "dnat", scheduler: "rr", helper: "none", log: "none" },
    });
    assert.equal(r.settings.mode, "dnat");
    assert.equal(r.errors.length, 1);
  });
});

describe("unknown values", () => {
  const cases: [string, unknown, RegExp][] = [
    ["mode", "SNAT", /invalid value "SNAT"; did you mean "snat"\? Valid values: snat, dnat, dsr$/],
    [
      "mode",
      "stlsdnat",
      /^mode "stlsdnat" cannot work for pod backends on nftlb 1\.0\.7: .*Valid values: snat, dnat, dsr$/,
    ],
    ["mode", " snat", /did you mean "snat"/],
    ["mode", "", /invalid value ""/],
    [
      "scheduler",
      "roundrobin",
      /invalid value "roundrobin"\. Valid values: rr, symhash, hash-srcip, hash-srcip-srcport$/,
    ],
    ["scheduler", "symhsh", /did you mean "symhash"/],
    ["scheduler", "hash", /did you mean "hash-srcip"/],
    ["persistence", "srcip-port", /did you mean "srcip-srcport"/],
    ["persistence", "ClientIP", /Valid values: none, srcip, srcport, srcmac, srcip-srcport, srcip-dstport/],
    ["helper", "FTP", /did you mean "ftp"/],
    ["log", "input", /Valid values: none, output, forward/],
    ["log", "outptu", /did you mean "output"/],
  ];
  for (const [suffix, value, pattern] of cases) {
    it(`${suffix}=${JSON.stringify(value)}`, () => {
      const r = evaluateService(annotated(suffix, value));
      assert.equal(r.errors.length, 1);
      assert.equal(r.errors[0]?.key, fullKey(suffix));
      assert.match(r.errors[0].message, pattern);
    });
  }
  it("a non-string value is an error, not a crash", () => {
    for (const v of [1, true, null, { a: 1 }, ["rr"]]) {
      const r = evaluateService(annotated("scheduler", v));
      assert.equal(r.errors.length, 1);
      assert.match(r.errors[0]!.message, /must be a string/);
    }
  });
});

describe("unknown keys", () => {
  it("suggests the nearest key and lists all", () => {
    const r = evaluateService(annotated("schedular", "rr"));
    assert.equal(r.errors[0]?.key, fullKey("schedular"));
    assert.match(r.errors[0].message, new RegExp(`did you mean "${fullKey("scheduler")}"`));
    for (const k of KEY_SUFFIXES) assert.ok(r.errors[0].message.includes(fullKey(k)));
  });
  it("a key far from every valid one gets the list without a guess", () => {
    const r = evaluateService(annotated("weight", "5"));
    assert.match(r.errors[0]!.message, /unknown kube-nftlb annotation\. Valid keys:/);
  });
  it("annotations without our prefix are not our business", () => {
    const r = evaluateService(svc({ annotations: { "example.com/mode": "SNAT", "kube-nftlb-mode": "x" } }));
    assert.deepEqual(r.errors, []);
  });
  it("reports every problem at once", () => {
    const r = evaluateService(
      svc({
        annotations: { [fullKey("mode")]: "x", [fullKey("scheduler")]: "y", [fullKey("modes")]: "snat" },
      }),
    );
    assert.equal(r.errors.length, 3);
  });
});

describe("helpers", () => {
  const protocols: Protocol[] = ["TCP", "UDP", "SCTP"];
  for (const helper of HELPERS.filter((h) => h !== "none")) {
    for (const protocol of protocols) {
      const ok = HELPER_PROTOCOLS[helper].includes(protocol);
      it(`${helper} on ${protocol} is ${ok ? "accepted" : "refused"}`, () => {
        const r = evaluateService(annotated("helper", helper, { protocols: [protocol] }));
        assert.equal(r.errors.length, ok ? 0 : 1);
        assert.equal(r.settings.helper, ok ? helper : "none");
        if (!ok)
          assert.match(
            r.errors[0]!.message,
            new RegExp(`helper "${helper}" works on .* only, but port p0/${protocol}`),
          );
      });
    }
  }
  it("the matrix is nftlb's: ftp/pptp TCP, snmp/tftp UDP, sip TCP+UDP", () => {
    assert.deepEqual(HELPER_PROTOCOLS, {
      ftp: ["TCP"],
      pptp: ["TCP"],
      sip: ["TCP", "UDP"],
      snmp: ["UDP"],
      tftp: ["UDP"],
    });
  });
  it("one wrong port among several is enough to refuse", () => {
    const r = evaluateService(annotated("helper", "sip", { protocols: ["TCP", "UDP", "SCTP"] }));
    assert.match(r.errors[0]!.message, /port p2\/SCTP/);
  });
  for (const helper of UNIMPLEMENTED_HELPERS) {
    it(`${helper} is refused as never implemented by nftlb`, () => {
      const r = evaluateService(annotated("helper", helper));
      assert.match(r.errors[0]!.message, new RegExp(`helper "${helper}" .* nftlb has never implemented it`));
      assert.equal(r.settings.helper, "none");
    });
  }
});

describe("persistence and sessionAffinity", () => {
  const cases: {
    name: string;
    ann?: string;
    affinity?: "ClientIP" | "None";
    ttl?: unknown;
    persistence: string;
    ttlOut: string;
    warn: boolean;
  }[] = [
    { name: "nothing → none", persistence: "none", ttlOut: "60", warn: false },
    { name: "ClientIP → srcip", affinity: "ClientIP", persistence: "srcip", ttlOut: "60", warn: false },
    {
      name: "ClientIP with TTL in base 10",
      affinity: "ClientIP",
      ttl: 10800,
      persistence: "srcip",
      ttlOut: "10800",
      warn: false,
    },
    {
      name: "TTL 33 is 33, not base-32 '11'",
      affinity: "ClientIP",
      ttl: 33,
      persistence: "srcip",
      ttlOut: "33",
      warn: false,
    },
    {
      name: "annotation wins over None",
      ann: "srcport",
      affinity: "None",
      persistence: "srcport",
      ttlOut: "60",
      warn: false,
    },
    {
      name: "annotation wins over ClientIP, with a warning",
      ann: "srcmac",
      affinity: "ClientIP",
      persistence: "srcmac",
      ttlOut: "60",
      warn: true,
    },
    {
      name: "annotation none over ClientIP warns",
      ann: "none",
      affinity: "ClientIP",
      persistence: "none",
      ttlOut: "60",
      warn: true,
    },
    {
      name: "annotation agreeing with ClientIP does not warn",
      ann: "srcip",
      affinity: "ClientIP",
      persistence: "srcip",
      ttlOut: "60",
      warn: false,
    },
    {
      name: "annotation uses the affinity TTL",
      ann: "srcip-dstport",
      affinity: "ClientIP",
      ttl: 300,
      persistence: "srcip dstport",
      ttlOut: "300",
      warn: true,
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const spec: Partial<Service["spec"]> = {};
      if (c.affinity) spec.sessionAffinity = c.affinity;
      if (c.ttl !== undefined) spec.sessionAffinityConfig = { clientIP: { timeoutSeconds: c.ttl } };
      const r = evaluateService(svc({ spec, annotations: c.ann ? { [fullKey("persistence")]: c.ann } : {} }));
      assert.deepEqual(r.errors, []);
      assert.equal(r.settings.persistence, c.persistence);
      assert.equal(r.settings["persist-ttl"], c.ttlOut);
      assert.equal(r.warnings.length, c.warn ? 1 : 0);
      if (c.warn) assert.match(r.warnings[0]!.message, /takes priority over spec\.sessionAffinity: ClientIP/);
    });
  }
  for (const ttl of [0, -1, 86401, 1.5, "300", null]) {
    it(`TTL ${JSON.stringify(ttl)} is ${ttl === null ? "ignored" : "an error"}`, () => {
      const r = evaluateService(
        svc({
          spec: { sessionAffinity: "ClientIP", sessionAffinityConfig: { clientIP: { timeoutSeconds: ttl } } },
        }),
      );
      assert.equal(r.settings["persist-ttl"], "60");
      assert.equal(r.errors.length, ttl === null ? 0 : 1);
      if (ttl !== null) assert.equal(r.errors[0]?.key, "spec.sessionAffinityConfig.clientIP.timeoutSeconds");
    });
  }
});

describe("Services kube-nftlb does not balance", () => {
  const cases: [string, SvcOpts, RegExp][] = [
    ["headless", { spec: { clusterIP: "None" } }, /headless/],
    ["ExternalName", { spec: { type: "ExternalName" } }, /ExternalName/],
    ["another proxy", { labels: { [SERVICE_PROXY_NAME_LABEL]: "cilium" } }, /another proxy/],
    ["no ports", { spec: { ports: [] } }, /no ports/],
  ];
  for (const [name, o, reason] of cases) {
    it(`${name}: still validated, warned that annotations have no effect`, () => {
      const r = evaluateService(
        svc({ ...o, annotations: { [fullKey("mode")]: "SNAT", [fullKey("log")]: "output" } }),
      );
      assert.equal(r.balanced.balanced, false);
      assert.equal(r.errors.length, 1);
      assert.equal(r.warnings.length, 1);
      assert.match(r.warnings[0]!.message, reason);
      assert.match(r.warnings[0]!.message, /have no effect/);
    });
    it(`${name}: no warning without kube-nftlb annotations`, () => {
      const r = evaluateService(svc(o));
      assert.equal(r.balanced.balanced, false);
      assert.deepEqual(r.warnings, []);
    });
  }
  it("our own proxy name is balanced", () => {
    const r = evaluateService(svc({ labels: { [SERVICE_PROXY_NAME_LABEL]: "kube-nftlb" } }));
    assert.equal(r.balanced.balanced, true);
  });
  it("alongside kube-proxy, only Services labelled for kube-nftlb are balanced", () => {
    const scope = { proxyName: "kube-nftlb", mode: "alongside" as const };
    assert.equal(evaluateService(svc(), { scope }).balanced.balanced, false);
    const labelled = svc({ labels: { [SERVICE_PROXY_NAME_LABEL]: "kube-nftlb" } });
    assert.equal(evaluateService(labelled, { scope }).balanced.balanced, true);
  });
});

describe("log prefix", () => {
  it("names the Service and stays within nft's limit for the longest names", () => {
    const long = svc({ annotations: { [fullKey("log")]: "forward" } });
    long.metadata.namespace = "n".repeat(63);
    long.metadata.name = "s".repeat(63);
    const r = evaluateService(long);
    assert.ok(r.settings["log-prefix"]!.length <= 64);
    assert.ok(r.settings["log-prefix"]!.startsWith(`k8s ${"n".repeat(20)}`));
  });
});

it("LOGS, MODES, SCHEDULERS, PERSISTENCES match the contract table", () => {
  assert.deepEqual([...MODES], ["snat", "dnat", "dsr"]);
  assert.deepEqual([...SCHEDULERS], ["rr", "symhash", "hash-srcip", "hash-srcip-srcport"]);
  assert.deepEqual(
    [...PERSISTENCES],
    ["none", "srcip", "srcport", "srcmac", "srcip-srcport", "srcip-dstport"],
  );
  assert.deepEqual([...LOGS], ["none", "output", "forward"]);
  assert.deepEqual([...HELPERS], ["none", "ftp", "pptp", "sip", "snmp", "tftp"]);
});

describe("mode dsr: what nftlb's stateless ingress path can carry", () => {
  const dsr = (scheduler: string | undefined, spec: Partial<Service["spec"]> = {}) =>
    svc({
      annotations: { [fullKey("mode")]: "dsr", ...(scheduler ? { [fullKey("scheduler")]: scheduler } : {}) },
      spec,
    });
  for (const scheduler of ["symhash", "hash-srcip", "hash-srcip-srcport"]) {
    it(`with ${scheduler}: accepted, with a warning that backends must hold the VIP`, () => {
      const r = evaluateService(dsr(scheduler));
      assert.deepEqual(r.errors, []);
      assert.equal(r.settings.mode, "dsr");
      assert.match(r.warnings[0]!.message, /hold the Service's virtual addresses on its loopback/);
    });
  }
  const refused: [string, Service, RegExp][] = [
    ["with rr", dsr("rr"), /needs a scheduler that keeps a connection on one backend .* "rr" would send/],
    ["with the default scheduler (rr)", dsr(undefined), /"rr" would send/],
    ["on a NodePort Service", dsr("symhash", { type: "NodePort" }), /cannot serve a NodePort Service/],
    [
      "on a LoadBalancer Service",
      dsr("symhash", { type: "LoadBalancer" }),
      /cannot serve a LoadBalancer Service/,
    ],
    [
      "with a targetPort other than the port",
      dsr("symhash", { ports: [{ name: "http", port: 80, targetPort: 8080 }] }),
      /targetPort must equal port \(80 → 8080\)/,
    ],
  ];
  for (const [name, service, pattern] of refused) {
    it(`${name}: refused, and the farm falls back to snat`, () => {
      const r = evaluateService(service);
      assert.equal(r.errors.length, 1);
      assert.equal(r.errors[0]!.key, fullKey("mode"));
      assert.match(r.errors[0]!.message, pattern);
      assert.equal(r.settings.mode, "snat");
    });
  }
  it("a named targetPort cannot be checked offline and is accepted", () => {
    const r = evaluateService(dsr("symhash", { ports: [{ name: "http", port: 80, targetPort: "http" }] }));
    assert.deepEqual(r.errors, []);
  });
});
