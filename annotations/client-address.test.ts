// Client address per farm (annotations/client-address.ts): the automatic mode, the warnings for a
// user's mode that cannot keep a traffic policy's promise, and the webhook's defaults.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import {
  BUILTIN_DEFAULTS,
  evaluateService,
  farmMode,
  fullKey,
  missingDefaults,
  type Mode,
  type Service,
} from "./index.ts";

const svc = (spec: Partial<Service["spec"]> = {}, annotations: Record<string, string> = {}): Service => ({
  kind: "Service",
  metadata: { name: "web", namespace: "shop", annotations },
  spec: { ports: [{ port: 80, protocol: "TCP" }], ...spec },
});
const LOCAL_NODEPORT = { type: "NodePort", externalTrafficPolicy: "Local" } as const;
const MODE = fullKey("mode");
const modeWarnings = (s: Service) => evaluateService(s).warnings.filter((w) => w.key === MODE);

describe("farmMode: dnat where externalTrafficPolicy: Local promises the client's address", () => {
  const cases: [string, Partial<Service["spec"]>, boolean, Mode][] = [
    ["Local NodePort, the farm with the external addresses", LOCAL_NODEPORT, true, "dnat"],
    ["Local NodePort, the ClusterIP farm", LOCAL_NODEPORT, false, "snat"],
    [
      "Local with externalIPs",
      { externalTrafficPolicy: "Local", externalIPs: ["203.0.113.7"] },
      true,
      "dnat",
    ],
    [
      "Local on a plain ClusterIP Service (no external traffic)",
      { externalTrafficPolicy: "Local" },
      true,
      "snat",
    ],
    ["Cluster NodePort", { type: "NodePort", externalTrafficPolicy: "Cluster" }, true, "snat"],
    ["LoadBalancer Local", { type: "LoadBalancer", externalTrafficPolicy: "Local" }, true, "dnat"],
  ];
  for (const [what, spec, external, want] of cases)
    it(what, () => assert.equal(farmMode(svc(spec), "snat", false, external), want));

  it("a mode the user set wins, and dsr is never changed", () => {
    assert.equal(farmMode(svc(LOCAL_NODEPORT), "snat", true, true), "snat");
    assert.equal(farmMode(svc(LOCAL_NODEPORT), "dsr", false, true), "dsr");
  });
});

describe("admission warns where the user's mode cannot keep the traffic policy's promise", () => {
  it("snat with externalTrafficPolicy: Local: the backends would see the node", () => {
    const [w] = modeWarnings(svc(LOCAL_NODEPORT, { [MODE]: "snat" }));
    assert.match(w?.message ?? "", /mode "snat" masquerades .* not the client's/);
  });
  it("dnat with externalTrafficPolicy: Cluster on a NodePort: Pods on other nodes cannot answer", () => {
    const [w] = modeWarnings(svc({ type: "NodePort" }, { [MODE]: "dnat" }));
    assert.match(w?.message ?? "", /mode "dnat" does not masquerade/);
  });
  it("no warning when the mode is unset, or when it keeps the promise", () => {
    assert.deepEqual(modeWarnings(svc(LOCAL_NODEPORT)), []);
    assert.deepEqual(modeWarnings(svc(LOCAL_NODEPORT, { [MODE]: "dnat" })), []);
    assert.deepEqual(modeWarnings(svc({ type: "NodePort" }, { [MODE]: "snat" })), []);
    assert.deepEqual(modeWarnings(svc({}, { [MODE]: "dnat" })), [], "ClusterIP only: no external traffic");
  });
  it("evaluateService says whether the mode was set (an invalid value counts as unset)", () => {
    assert.equal(evaluateService(svc({}, { [MODE]: "dnat" })).modeSet, true);
    assert.equal(evaluateService(svc({}, { [MODE]: "DNAT" })).modeSet, false);
    assert.equal(evaluateService(svc()).modeSet, false);
  });
});

describe("the mutating webhook's defaults", () => {
  it("writes no mode for externalTrafficPolicy: Local (it would override the per-farm choice)", () => {
    const keys = missingDefaults(svc(LOCAL_NODEPORT), BUILTIN_DEFAULTS).map(([k]) => k);
    assert.ok(!keys.includes(MODE), keys.join());
    assert.ok(keys.includes(fullKey("scheduler")));
  });
  it("still writes it otherwise", () => {
    const keys = missingDefaults(svc({ type: "NodePort" }), BUILTIN_DEFAULTS).map(([k]) => k);
    assert.ok(keys.includes(MODE));
  });
});
