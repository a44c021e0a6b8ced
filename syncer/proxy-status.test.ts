// The sync-loop bookkeeping kube-proxy exports: pending changes cleared by a successful sync only,
// failures counted, full and partial durations apart, no-local-endpoint ports summed per policy.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { createRegistry } from "../runtime/index.ts";
import type { NodeLocal } from "./node-local.ts";
import { ProxyStatus, type LocalView } from "./proxy-status.ts";
import { FULL } from "./reconcile.ts";

const quiet = { info: () => undefined, warn: () => undefined };
function world(now?: () => number) {
  const locals = new Map<string, NodeLocal>();
  const view: LocalView = {
    serviceKeys: () => [...locals.keys()],
    local: (k) => locals.get(k),
    nodeAddresses: () => ["127.0.0.1"],
  };
  const registry = createRegistry({ defaultMetrics: false });
  const status = new ProxyStatus({
    registry,
    view,
    healthzTimeoutMs: 1000,
    nodeName: "n",
    events: { record: () => Promise.resolve() },
    log: quiet,
    ...(now ? { now } : {}),
  });
  const value = async (name: string, labels = "") => {
    const text = await registry.metrics();
    const m = new RegExp(`^${name}${labels.replace(/[{}]/g, "\\$&")} (\\S+)$`, "m").exec(text);
    return m ? Number(m[1]) : undefined;
  };
  return { locals, status, value };
}

describe("proxy status", () => {
  it("pending changes: counted per Service, cleared by a successful sync of their key, kept by a failed one", async () => {
    const { status, value } = world();
    status.serviceChanged("a/x");
    status.serviceChanged("a/x");
    status.endpointsChanged("a/x");
    status.endpointsChanged("a/y");
    assert.equal(await value("kube_nftlb_sync_proxy_rules_service_changes_total"), 2);
    assert.equal(await value("kube_nftlb_sync_proxy_rules_service_changes_pending"), 1);
    assert.equal(await value("kube_nftlb_sync_proxy_rules_endpoint_changes_pending"), 2);
    await status.synced(["a/x"], false, 0.01);
    assert.equal(await value("kube_nftlb_sync_proxy_rules_endpoint_changes_pending"), 2);
    assert.equal(await value("kube_nftlb_sync_proxy_rules_nftlb_sync_failures_total"), 1);
    await status.synced(["a/x"], true, 0.01);
    assert.equal(await value("kube_nftlb_sync_proxy_rules_endpoint_changes_pending"), 1);
    assert.equal(await value("kube_nftlb_sync_proxy_rules_service_changes_pending"), 0);
    await status.synced([FULL], true, 0.5);
    assert.equal(await value("kube_nftlb_sync_proxy_rules_endpoint_changes_pending"), 0);
    assert.equal(await value("kube_nftlb_sync_full_proxy_rules_duration_seconds_count"), 1);
    assert.equal(await value("kube_nftlb_sync_partial_proxy_rules_duration_seconds_count"), 2);
    await status.close();
  });

  it("a change queued and not synced makes the proxy unhealthy after the timeout; a sync heals it", async () => {
    let t = 0;
    const { status } = world(() => t);
    status.endpointsChanged("a/x");
    t = 999;
    assert.equal(status.health.healthz().status, 200);
    await status.synced(["a/x"], false, 0.01);
    t = 1000;
    assert.equal(status.health.healthz().status, 503);
    await status.synced(["a/x"], true, 0.01);
    assert.equal(status.health.healthz().status, 200);
    await status.close();
  });

  it("no-local-endpoint ports: summed per policy, updated when a Service changes or goes", async () => {
    const { locals, status, value } = world();
    locals.set("a/x", { noLocalEndpoints: { internal: 1, external: 2 } });
    locals.set("a/y", { noLocalEndpoints: { internal: 0, external: 1 } });
    await status.synced([FULL], true, 0.1);
    const ext = () =>
      value("kube_nftlb_sync_proxy_rules_no_local_endpoints_total", '{traffic_policy="external"}');
    const int = () =>
      value("kube_nftlb_sync_proxy_rules_no_local_endpoints_total", '{traffic_policy="internal"}');
    assert.deepEqual([await int(), await ext()], [1, 3]);
    locals.set("a/x", { noLocalEndpoints: { internal: 0, external: 0 } });
    await status.synced(["a/x"], true, 0.1);
    assert.deepEqual([await int(), await ext()], [0, 1]);
    locals.delete("a/y");
    await status.synced(["a/y"], true, 0.1);
    assert.deepEqual([await int(), await ext()], [0, 0]);
    await status.close();
  });
});
