// intra-connect (traffic from the node itself, SPEC §3) through every step a farm field takes:
// desired sets it, plan compares it, the client validates, serializes and verifies it.
// End to end with real packets: test/node-traffic.test.ts.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { desired } from "./desired.ts";
import { plan } from "./plan.ts";
import { NODE, service, slice } from "./desired-fixtures.test-helpers.ts";
import { serializeFarm } from "../nftlb/serialize.ts";
import { validateFarms } from "../nftlb/validate.ts";
import { verifyWritten } from "../nftlb/verify.ts";
import { parseFarms } from "../nftlb/parse.ts";
import type { Farm } from "../nftlb/types.ts";

const PREFIX = "service.kubernetes.io/kube-nftlb-load-balancer-";
const EPS = [slice("web-1", [{ ip: "10.244.0.5", pod: "web-a" }])];
const owns = () => true;
/** The farm as nftlb lists it when intra-connect is off: without the field. */
const withoutIntraConnect = (f: Farm): Farm => {
  const copy = { ...f };
  delete copy["intra-connect"];
  return copy;
};
const farmsOf = (annotations: Record<string, string> = {}, spec: Record<string, unknown> = {}) =>
  desired(service({ type: "NodePort", externalIPs: ["203.0.113.7"], ...spec }, { annotations }), EPS, NODE, {
    iface: "eth0",
    ifaceMac: "52:54:00:12:34:56",
    oface: "cni0",
  }).farms;

describe("intra-connect: node-originated traffic", () => {
  it("every snat and dnat farm asks for it, the external split farm included", () => {
    const farms = [
      ...farmsOf(),
      ...farmsOf({ [PREFIX + "mode"]: "dnat" }),
      ...farmsOf({}, { externalTrafficPolicy: "Local" }),
    ];
    assert.ok(farms.some((f) => f.name.endsWith(".ext")));
    for (const f of farms) assert.equal(f["intra-connect"], "on", f.name);
  });

  it("dsr farms do not: nftlb programs dsr at the ingress hook only", () => {
    const dsr = { [PREFIX + "mode"]: "dsr", [PREFIX + "scheduler"]: "hash-srcip-srcport" };
    const farms = farmsOf(dsr, {
      type: "ClusterIP",
      ports: [{ name: "http", port: 8080, targetPort: 8080 }],
    });
    assert.deepEqual(
      farms.map((f) => [f.mode, f["intra-connect"]]),
      [["dsr", "off"]],
    );
  });

  it("plan: a farm nftlb lists without it (off) gets it sent; one listed with it is left alone", () => {
    const [want] = farmsOf();
    // As nftlb holds it once written: with the backend and farm marks the syncer assigned.
    const written = plan([want!], [], { owns }).upserts[0] as typeof want & object;
    const off = withoutIntraConnect(written);
    const p = plan([want!], [off], { owns });
    assert.deepEqual(p.upserts, [{ name: want!.name, "intra-connect": "on" }]);
    assert.deepEqual(plan([want!], [written], { owns }).upserts, []);
  });

  it("parse: nftlb's GET shows the field only when on; absent reads as off", () => {
    const doc = (extra: string) =>
      `{"farms":[{"name":"f","mode":"snat"${extra},"addresses":[],"backends":[]}]}`;
    const on = parseFarms(doc(', "intra-connect": "on"'));
    const absent = parseFarms(doc(""));
    assert.ok(on.ok && absent.ok);
    assert.equal(on.value[0]!["intra-connect"], "on");
    assert.equal(absent.value[0]!["intra-connect"], undefined);
  });

  it("serialize sends it as the string nftlb reads", () => {
    assert.match(serializeFarm({ name: "f", "intra-connect": "on" }), /"intra-connect":"on"/);
  });

  it("validate refuses anything but on/off (nftlb would silently read it as off)", () => {
    for (const bad of ["yes", "ON", "", "1"]) {
      const problems = validateFarms([{ name: "f", "intra-connect": bad as "on" }], new Map());
      assert.match(problems.join(), /invalid intra-connect/, JSON.stringify(bad));
    }
    assert.deepEqual(validateFarms([{ name: "f", "intra-connect": "off" }], new Map()), []);
  });

  it("verify: a farm read back without it after asking for it is a failed write", () => {
    const [want] = farmsOf();
    const without = withoutIntraConnect(want!);
    assert.deepEqual(
      verifyWritten([{ name: want!.name, "intra-connect": "on" }], new Map([[want!.name, without]])),
      [`farm "${want!.name}" has intra-connect off, not on`],
    );
    assert.deepEqual(verifyWritten([want!], new Map([[want!.name, want!]])), []);
  });
});
