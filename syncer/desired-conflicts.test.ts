// Two farms claiming one protocol + VIP + port: reported, and the younger claim dropped.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { desired, type DesiredService } from "./desired.ts";
import { resolveConflicts } from "./desired-conflicts.ts";
import { NODE, service } from "./desired-fixtures.test-helpers.ts";

const svc = (name: string, created: string | undefined, spec: Record<string, unknown>): DesiredService =>
  desired(
    service({ ...spec }, { name, ...(created === undefined ? {} : { creationTimestamp: created }) }),
    [],
    NODE,
  );

describe("conflicts across Services", () => {
  const old = svc("old", "2024-01-01T00:00:00Z", {
    clusterIPs: ["10.96.0.1"],
    externalIPs: ["198.51.100.1"],
  });
  const young = svc("young", "2024-06-01T00:00:00Z", {
    clusterIPs: ["10.96.0.2"],
    externalIPs: ["198.51.100.1"],
  });

  it("the older Service keeps the contested externalIP:port, whatever the input order", () => {
    for (const input of [
      [old, young],
      [young, old],
    ]) {
      const r = resolveConflicts(input);
      assert.deepEqual(
        r.farms.map((f) => [f.name, f.addresses.map((a) => a["ip-addr"])]),
        [
          ["shop.old.http", ["10.96.0.1", "198.51.100.1"]],
          ["shop.young.http", ["10.96.0.2"]],
        ],
      );
      assert.equal(r.conflicts.length, 1);
      assert.deepEqual(
        [r.conflicts[0]!.winner.farm, r.conflicts[0]!.loser.farm],
        ["shop.old.http", "shop.young.http"],
      );
      assert.match(
        r.conflicts[0]!.message,
        /tcp 198\.51\.100\.1:80 is claimed by Service shop\/old .* and by Service shop\/young/,
      );
    }
  });

  it("a farm left without addresses is dropped", () => {
    const copy = svc("copy", "2024-07-01T00:00:00Z", { clusterIPs: ["10.96.0.1"] });
    const r = resolveConflicts([copy, old]);
    assert.deepEqual(
      r.farms.map((f) => f.name),
      ["shop.old.http"],
    );
  });

  it("same port on another protocol or another port is no conflict", () => {
    const udp = svc("udp", "2024-07-01T00:00:00Z", {
      clusterIPs: ["10.96.0.3"],
      externalIPs: ["198.51.100.1"],
      ports: [{ name: "http", port: 80, protocol: "UDP" }],
    });
    const other = svc("other", "2024-07-01T00:00:00Z", {
      clusterIPs: ["10.96.0.4"],
      externalIPs: ["198.51.100.1"],
      ports: [{ name: "http", port: 81 }],
    });
    assert.deepEqual(resolveConflicts([old, udp, other]).conflicts, []);
  });

  it("without timestamps (manifests), namespace/name decides; a timestamp beats none", () => {
    const a = svc("a", undefined, { clusterIPs: ["10.96.0.1"] });
    const b = svc("b", undefined, { clusterIPs: ["10.96.0.1"] });
    assert.deepEqual(
      resolveConflicts([b, a]).farms.map((f) => f.name),
      ["shop.a.http"],
    );
    const dated = svc("z", "2030-01-01T00:00:00Z", { clusterIPs: ["10.96.0.1"] });
    assert.deepEqual(
      resolveConflicts([a, dated]).farms.map((f) => f.name),
      ["shop.z.http"],
    );
  });
});
