// Proxy health as kube-proxy's ProxyHealthServer: queued changes age, a sync resets, the Node's
// deletion turns /healthz (not /livez) to 503; bodies with kube-proxy's fields.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { goTime, nodeEligible, ProxyHealth } from "./proxy-health.ts";

describe("proxy health", () => {
  const clock = () => {
    let t = Date.UTC(2026, 0, 2, 3, 4, 5, 60);
    return { now: () => t, tick: (ms: number) => (t += ms) };
  };

  it("healthy while starting, with nothing queued however long", () => {
    const c = clock();
    const h = new ProxyHealth({ timeoutMs: 1000, now: c.now });
    c.tick(10_000);
    assert.equal(h.healthz().status, 200);
    assert.equal(h.livez().status, 200);
  });

  it("a change queued longer than the timeout without a sync: 503, until a sync", () => {
    const c = clock();
    const h = new ProxyHealth({ timeoutMs: 1000, now: c.now });
    h.updated();
    h.queued();
    c.tick(999);
    assert.equal(h.healthz().status, 200);
    h.queued(); // a later change does not restart the clock
    c.tick(1);
    assert.equal(h.healthz().status, 503);
    assert.equal(h.livez().status, 503);
    h.updated();
    assert.equal(h.healthz().status, 200);
  });

  it("a Node being deleted or tainted for removal: /healthz 503, /livez 200", () => {
    const h = new ProxyHealth({ timeoutMs: 1000 });
    h.node({ metadata: { deletionTimestamp: "2026-01-01T00:00:00Z" } });
    assert.deepEqual([h.healthz().status, h.livez().status], [503, 200]);
    assert.match(h.healthz().body, /"nodeEligible": false}$/);
    h.node({ spec: { taints: [{ key: "ToBeDeletedByClusterAutoscaler" }] } });
    assert.equal(h.healthz().status, 503);
    h.node({ metadata: {}, spec: { taints: [{ key: "other" }] } });
    assert.equal(h.healthz().status, 200);
    assert.equal(nodeEligible(undefined), true);
  });

  it("bodies: kube-proxy's fields, lastUpdated = now when healthy, Go's time format", () => {
    const c = clock();
    const h = new ProxyHealth({ timeoutMs: 1000, now: c.now });
    assert.equal(
      h.healthz().body,
      '{"lastUpdated": "2026-01-02 03:04:05.06 +0000 UTC","currentTime": "2026-01-02 03:04:05.06 +0000 UTC", "nodeEligible": true}',
    );
    h.queued();
    c.tick(2000);
    const body = JSON.parse(h.livez().body) as Record<string, unknown>;
    assert.deepEqual(Object.keys(body), ["lastUpdated", "currentTime"]);
    assert.equal(body.lastUpdated, "0001-01-01 00:00:00 +0000 UTC");
    assert.equal(goTime(Date.UTC(2026, 0, 1)), "2026-01-01 00:00:00 +0000 UTC");
  });
});
