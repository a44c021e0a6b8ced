import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { readiness, runningStatus, READY_ANNOTATION, READY_AFTER_ANNOTATION } from "./status.ts";

describe("readiness", () => {
  it("follows the default delay, and says when to look again", () => {
    assert.deepEqual(readiness(undefined, 1000, 1500, 1000), {
      ready: false,
      reason: "LabReadinessDelay",
      message: "ready in 500 ms",
      recheckAt: 2000,
    });
    assert.equal(readiness(undefined, 1000, 2000, 1000).ready, true);
    assert.equal(readiness({}, 1000, 1000, 0).ready, true);
  });
  it("the annotation decides outright", () => {
    assert.equal(readiness({ [READY_ANNOTATION]: "false" }, 0, 1e9, 0).ready, false);
    assert.equal(readiness({ [READY_ANNOTATION]: "true" }, 0, 0, 60_000).ready, true);
  });
  it("a per-pod delay overrides the default", () => {
    assert.equal(readiness({ [READY_AFTER_ANNOTATION]: "0" }, 0, 0, 60_000).ready, true);
    assert.equal(readiness({ [READY_AFTER_ANNOTATION]: "5000" }, 0, 4999, 0).recheckAt, 5000);
  });
  it("garbage keeps the pod unready with a message naming the annotation", () => {
    for (const [k, v] of [
      [READY_ANNOTATION, "yes"],
      [READY_ANNOTATION, ""],
      [READY_AFTER_ANNOTATION, "-1"],
      [READY_AFTER_ANNOTATION, "1s"],
      [READY_AFTER_ANNOTATION, "1e3"],
    ] as const) {
      const r = readiness({ [k]: v }, 0, 1e9, 0);
      assert.equal(r.ready, false, `${k}=${v}`);
      assert.equal(r.reason, "LabBadAnnotation");
      assert.match(r.message ?? "", new RegExp(k.replace(/\./g, "\\.")));
      assert.equal(r.recheckAt, undefined);
    }
  });
});

describe("runningStatus", () => {
  it("reports IPs, phase and Ready/ContainersReady from readiness", () => {
    const s = runningStatus({
      podIP: "10.203.1.10",
      hostIP: "10.202.1.1",
      startedAt: Date.UTC(2026, 0, 1),
      transitionAt: Date.UTC(2026, 0, 1),
      readiness: { ready: false, reason: "LabNotReady", message: "m" },
      containers: ["web"],
    });
    assert.equal(s.phase, "Running");
    assert.deepEqual(s.podIPs, [{ ip: "10.203.1.10" }]);
    const conditions = s.conditions as { type: string; status: string; reason?: string }[];
    assert.equal(conditions.find((c) => c.type === "Ready")?.status, "False");
    assert.equal(conditions.find((c) => c.type === "Ready")?.reason, "LabNotReady");
    assert.equal(conditions.find((c) => c.type === "PodScheduled")?.status, "True");
    assert.equal(s.startTime, "2026-01-01T00:00:00Z");
  });
});
