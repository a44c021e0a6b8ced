// The syncer takes the cluster defaults (--defaults-file, the webhook's file and ConfigMap): a
// Service that never went through the mutating webhook is balanced with them, against the real
// nftlb; a kubelet-style `..data` swap of the file re-programs every farm without a restart; a
// bad new file is refused and the previous defaults kept.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { cannotBuildNetwork } from "../lab/net/index.ts";
import { startSyncer, type Syncer } from "../syncer/run.ts";
import { answering, startWorld, syncerConfig, type SyncerWorld } from "./syncer-fixture.ts";
import { until } from "./until.ts";
import { SecretVolume } from "./webhook-tls.ts";

const skip = cannotBuildNetwork();
const dir = mkdtempSync(join(tmpdir(), `syncer-defaults-${process.pid}-`));
const configMap = new SecretVolume(join(dir, "defaults"));
const file = join(configMap.dir, "defaults.yaml");
let world: SyncerWorld | undefined;
let syncer: Syncer | undefined;

before(async () => {
  if (skip) return;
  configMap.write({ "defaults.yaml": "# the cluster's\nscheduler: symhash\n" });
  world = await startWorld({ backends: 2, port: 8080 });
  syncer = await startSyncer(
    syncerConfig(world.net, world.api, { defaultsFile: file, defaultsPollMs: 200 }),
    {
      log: world.log,
    },
  );
  await syncer.started;
});

after(async () => {
  await syncer?.stop();
  await world?.destroy();
  rmSync(dir, { recursive: true, force: true });
});

const farm = async (name: string) => {
  const r = await world!.nftlb.getFarm(`default.${name}.http`);
  return r.ok ? r.value : undefined;
};
const reloads = async (result: string) =>
  (await syncer!.metrics.defaultsReloads.get()).values.find((v) => v.labels.result === result)?.value ?? 0;

async function createService(name: string, ip: string) {
  const { net, core, discovery } = world!;
  // No annotations at all: what a Service looks like when the mutating webhook was bypassed.
  await core.createNamespacedService({
    namespace: "default",
    body: {
      metadata: { name },
      spec: { clusterIP: ip, ports: [{ name: "http", port: 80, targetPort: 8080, protocol: "TCP" }] },
    },
  });
  await discovery.createNamespacedEndpointSlice({
    namespace: "default",
    body: {
      metadata: { name: `${name}-1`, labels: { "kubernetes.io/service-name": name } },
      addressType: "IPv4",
      endpoints: net.backends.map((b) => ({ addresses: [b.ip], conditions: { ready: true } })),
      ports: [{ name: "http", port: 8080, protocol: "TCP" }],
    },
  });
}

test(
  "a Service the webhook never saw is balanced with the cluster's defaults, not the built-in ones",
  { skip },
  async () => {
    const { net } = world!;
    await createService("plain", net.vip(10));
    await until("the farm", async () => (await farm("plain")) !== undefined);
    assert.equal((await farm("plain"))?.scheduler, "symhash");
    await until("traffic through the farm", async () => (await answering(net, net.vip(10), 80)).size > 0);
    assert.ok(!(await answering(net, net.vip(10), 80)).has("(none)"));
  },
);

test(
  "a ..data swap of the file re-programs the farms without a restart; a bad file keeps the previous defaults",
  { skip },
  async () => {
    const started = syncer!.started;
    configMap.write({ "defaults.yaml": "scheduler: hash-srcip\n" });
    await until("the farm on the new default", async () => {
      const f = await farm("plain");
      return f?.scheduler === "hash" && f["sched-param"] === "srcip";
    });
    assert.equal(await reloads("loaded"), 2);

    configMap.write({ "defaults.yaml": "scheduler: roundrobin\n" });
    await until("the bad file refused", async () => (await reloads("refused")) === 1);
    // Kept: a Service created now still gets the last good defaults.
    await createService("later", world!.net.vip(11));
    await until("the later farm", async () => (await farm("later")) !== undefined);
    assert.equal((await farm("later"))?.scheduler, "hash");
    assert.equal((await farm("plain"))?.scheduler, "hash");
    assert.equal(syncer!.started, started, "the same syncer throughout");
  },
);
