// desired picks the mode per farm (annotations/client-address.ts): the external addresses of an
// externalTrafficPolicy: Local Service keep the client's address (dnat), the rest masquerade.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { desired } from "./desired.ts";
import { NODE, service, slice } from "./desired-fixtures.test-helpers.ts";

const MODE = "service.kubernetes.io/kube-nftlb-load-balancer-mode";
const EPS = [slice("web-1", [{ ip: "10.244.0.5", pod: "web-a", node: NODE.name }])];
const PORTS = [{ name: "http", port: 80, protocol: "TCP", targetPort: "http", nodePort: 30080 }];
const modes = (spec: Record<string, unknown>, annotations: Record<string, string> = {}) =>
  desired(service({ ports: PORTS, ...spec }, { annotations }), EPS, NODE).farms.map((f) => [f.name, f.mode]);

describe("mode per farm", () => {
  it("externalTrafficPolicy: Local NodePort: the .ext farm is dnat, the ClusterIP farm snat", () => {
    assert.deepEqual(modes({ type: "NodePort", externalTrafficPolicy: "Local" }), [
      ["shop.web.http", "snat"],
      ["shop.web.http.ext", "dnat"],
    ]);
  });
  it("both policies Local: one farm, dnat (it carries the external addresses)", () => {
    assert.deepEqual(
      modes({ type: "NodePort", externalTrafficPolicy: "Local", internalTrafficPolicy: "Local" }),
      [["shop.web.http", "dnat"]],
    );
  });
  it("externalTrafficPolicy: Cluster: snat everywhere (replies from other nodes come back through this one)", () => {
    assert.deepEqual(modes({ type: "NodePort" }), [["shop.web.http", "snat"]]);
  });
  it("a mode the user set wins, with the warning as a problem", () => {
    const r = desired(
      service(
        { ports: PORTS, type: "NodePort", externalTrafficPolicy: "Local" },
        { annotations: { [MODE]: "snat" } },
      ),
      EPS,
      NODE,
    );
    assert.deepEqual(
      r.farms.map((f) => f.mode),
      ["snat", "snat"],
    );
    assert.ok(r.problems.some((p) => p.severity === "warning" && /not the client's/.test(p.message)));
  });
});
