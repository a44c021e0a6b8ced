// /readyz says which of the syncer's conditions is unmet, logs it when that changes, and never
// says the nftlb key; through the health port's real socket too.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { Programmed } from "./reconcile-programmed.ts";
import { startProxyHealthServer } from "./proxy-health-server.ts";
import { ProxyHealth } from "./proxy-health.ts";
import { createProxyMetrics } from "./proxy-metrics.ts";
import { createRegistry } from "../runtime/index.ts";
import { Readiness, unmet, type ReadinessInputs } from "./readiness.ts";
import type { NftlbHealth } from "./nftlb-probe.ts";

const KEY = "Sup3r-s3cret-nftlb-KEY";
const FORBIDDEN =
  'Forbidden: services is forbidden: User "system:serviceaccount:kube-nftlb:kube-nftlb-syncer" cannot list resource "services" in API group "" at the cluster scope (403)';

function inputs() {
  const health: NftlbHealth = { up: false };
  const informers = [
    { name: "services", synced: false, stats: { lastError: "" } },
    { name: "endpointslices", synced: false, stats: { lastError: "" } },
  ];
  const lines: { level: string; obj: object; msg: string }[] = [];
  const log = {
    info: (obj: object, msg: string) => void lines.push({ level: "info", obj, msg }),
    warn: (obj: object, msg: string) => void lines.push({ level: "warn", obj, msg }),
    error: (obj: object, msg: string) => void lines.push({ level: "error", obj, msg }),
  };
  const programmed = new Programmed(log);
  let stopping = false;
  const i: ReadinessInputs = {
    nftlb: health,
    informers: () => informers,
    unprogrammed: () => programmed.unprogrammed,
    stopping: () => stopping,
    secrets: () => [KEY],
  };
  return { i, health, informers, programmed, lines, log, stop: () => (stopping = true) };
}

describe("the syncer's readiness", () => {
  it("names every unmet condition, in the order start meets them, until none is left", () => {
    const f = inputs();
    assert.equal(
      unmet(f.i),
      "nftlb not asked yet; caches not synced: services, endpointslices; the first full reconcile is not done yet",
    );
    Object.assign(f.health, { up: false, error: "connect ECONNREFUSED 127.0.0.1:5555" });
    assert.match(unmet(f.i) ?? "", /^nftlb does not answer \(connect ECONNREFUSED 127\.0\.0\.1:5555\); /);
    Object.assign(f.health, { up: true, error: undefined });
    f.informers[0]!.stats.lastError = FORBIDDEN;
    assert.equal(
      unmet(f.i),
      `caches not synced: services (${FORBIDDEN}), endpointslices; the first full reconcile is not done yet`,
    );
    for (const inf of f.informers) inf.synced = true;
    f.programmed.failed(
      { kind: "retryable", operation: "listFarms", message: "no complete answer within 30000 ms" },
      1,
    );
    assert.equal(
      unmet(f.i),
      "the first full reconcile did not go through yet (last attempt: listFarms: no complete answer within 30000 ms)",
    );
    f.programmed.succeeded(true, () => 3);
    assert.equal(unmet(f.i), undefined);
    f.programmed.failed(
      { kind: "fatal", operation: "upsertFarms", status: 401, message: "nftlb answered 401" },
      1,
    );
    assert.equal(
      unmet(f.i),
      "nftlb refused the key (401 on upsertFarms): --nftlb-key-file does not hold nftlb's key",
    );
    f.programmed.succeeded(false, () => 3);
    f.stop();
    assert.equal(unmet(f.i), "stopping");
  });

  it("never says the nftlb key, wherever an error put it", () => {
    const f = inputs();
    Object.assign(f.health, { up: false, error: `GET /farms with key ${KEY} refused` });
    assert.ok(!(unmet(f.i) ?? "").includes(KEY));
    assert.match(unmet(f.i) ?? "", /with key \[redacted\] refused/);
  });

  it("is logged when it changes, a loss of readiness as a warning, not on every question", () => {
    const f = inputs();
    const r = new Readiness(f.i, f.log);
    r.check();
    r.check();
    Object.assign(f.health, { up: true });
    for (const inf of f.informers) inf.synced = true;
    f.programmed.succeeded(true, () => 0);
    assert.equal(r.check(), undefined);
    r.check();
    Object.assign(f.health, { up: false, error: "no complete answer within 1000 ms" });
    assert.equal(r.check(), "nftlb does not answer (no complete answer within 1000 ms)");
    const said = f.lines
      .filter((l) => l.msg === "ready" || l.msg === "not ready")
      .map((l) => [l.level, l.msg, (l.obj as { reason?: string }).reason]);
    assert.deepEqual(said, [
      [
        "info",
        "not ready",
        "nftlb not asked yet; caches not synced: services, endpointslices; the first full reconcile is not done yet",
      ],
      ["info", "ready", undefined],
      ["warn", "not ready", "nftlb does not answer (no complete answer within 1000 ms)"],
    ]);
  });

  it("the health port's /readyz gives the reason in its 503's body", async () => {
    const f = inputs();
    const r = new Readiness(f.i, f.log);
    f.informers[0]!.stats.lastError = FORBIDDEN;
    const registry = createRegistry({ defaultMetrics: false });
    const server = await startProxyHealthServer({
      host: "127.0.0.1",
      port: 0,
      health: new ProxyHealth({ timeoutMs: 1000 }),
      metrics: createProxyMetrics(registry),
      ready: () => r.check() ?? true,
    });
    try {
      const res = await fetch(`http://127.0.0.1:${server.port}/readyz`);
      assert.equal(res.status, 503);
      const body = await res.text();
      assert.match(
        body,
        /^not ready: nftlb not asked yet; caches not synced: services \(Forbidden: .*\(403\)\), endpointslices; /,
      );
      assert.ok(body.endsWith("\n"));
    } finally {
      await server.close();
    }
  });
});
