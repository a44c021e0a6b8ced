// `kube-nftlb syncer --cleanup` as an operator runs it on a node: the real CLI inside the node's
// network namespace, the real nftlb holding kube-nftlb's farms, its sentinel and a farm made by
// hand, and kube-nftlb's own table beside nftlb's. Only kube-nftlb's things go; twice is harmless.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { cannotBuildNetwork, testFarm } from "../lab/net/index.ts";
import { inNs } from "../lab/net/sys.ts";
import { startSyncer } from "../syncer/run.ts";
import { startWorld, syncerConfig, type SyncerWorld } from "./syncer-fixture.ts";
import { until } from "./until.ts";

const skip = cannotBuildNetwork();
const BIN = join(import.meta.dirname, "..", "bin", "kube-nftlb.js");
const dir = mkdtempSync(join(tmpdir(), `syncer-cleanup-${process.pid}-`));
let world: SyncerWorld;

before(async () => {
  if (skip) return;
  world = await startWorld({ backends: 1, port: 8080 });
});
after(async () => {
  rmSync(dir, { recursive: true, force: true });
  if (!skip) await world?.destroy();
});

/** The CLI in the node's namespace, where nft reaches the node's tables as on a real node. */
const cleanup = (...extra: string[]) => {
  const keyFile = join(dir, "key");
  writeFileSync(keyFile, `${world.net.nftlb.key}\n`, { mode: 0o600 });
  return spawnSync(
    "ip",
    ["netns", "exec", world.net.node.ns, process.execPath, BIN, "syncer", "--cleanup"].concat(
      ["--nftlb-url", world.net.nftlb.url, "--nftlb-key-file", keyFile],
      extra,
    ),
    { encoding: "utf8", timeout: 60_000 },
  );
};

const farmNames = async () => {
  const r = await world.nftlb.listFarms();
  assert.ok(r.ok, "nftlb lists its farms");
  return r.value.map((f) => f.name).sort();
};
const tables = () => inNs(world.net.node.ns, ["nft", "list", "tables"]);

test("--help lists --cleanup", () => {
  const r = spawnSync(process.execPath, [BIN, "syncer", "--help"], { encoding: "utf8", timeout: 30_000 });
  assert.equal(r.status, 0);
  assert.match(r.stdout, /--cleanup/);
  assert.match(r.stdout, /--node-rules HOW/);
});

test(
  "--cleanup removes kube-nftlb's farms, sentinel and table, and nothing else; twice is harmless",
  { skip },
  async () => {
    // kube-nftlb's part: a Service without endpoints (a farm, a reject entry in its table), the sentinel.
    await world.core.createNamespacedService({
      namespace: "default",
      body: {
        apiVersion: "v1",
        kind: "Service",
        metadata: { name: "web", namespace: "default" },
        spec: { clusterIP: world.net.vip(10), ports: [{ name: "http", port: 80, targetPort: 8080 }] },
      },
    });
    const syncer = await startSyncer(syncerConfig(world.net, world.api), { log: world.log });
    await syncer.started;
    await until("the sentinel is planted", () => syncer.reconciler.sentinelPlanted);
    await syncer.stop();
    // Someone else's farm in the same nftlb.
    const foreign = testFarm({
      name: "handmade",
      vip: world.net.vip(90),
      port: 80,
      backends: world.net.backends,
    });
    const up = await world.nftlb.upsertFarms([foreign]);
    assert.ok(up.ok, "the foreign farm is written");
    assert.deepEqual(await farmNames(), ["default.web.http", "handmade"]);
    assert.match(await tables(), /table inet kube-nftlb/);

    for (const run of ["first", "second"]) {
      const r = cleanup();
      assert.equal(r.status, 0, `${run} run: exit 0 (stderr: ${r.stderr}, stdout: ${r.stdout})`);
      assert.deepEqual(await farmNames(), ["handmade"], `${run} run: only the foreign farm is left`);
      const ping = await world.nftlb.ping();
      assert.ok(ping.ok && !ping.value.sentinel, `${run} run: the sentinel is gone`);
      const t = await tables();
      assert.doesNotMatch(t, /table inet kube-nftlb/, `${run} run: kube-nftlb's table is gone`);
      assert.match(t, /table ip nftlb/, `${run} run: nftlb's table stays`);
    }
    assert.equal(
      (await world.net.client.tcp(world.net.vip(90), 80)).ok,
      true,
      "the foreign farm still balances",
    );
  },
);

test("--cleanup with a wrong key fails with exit 1 and a reason, the key unprinted", { skip }, () => {
  const keyFile = join(dir, "wrong");
  writeFileSync(keyFile, "not-the-key-of-this-nftlb\n", { mode: 0o600 });
  const r = spawnSync(
    "ip",
    ["netns", "exec", world.net.node.ns, process.execPath, BIN, "syncer", "--cleanup"].concat([
      "--nftlb-url",
      world.net.nftlb.url,
      "--nftlb-key-file",
      keyFile,
    ]),
    { encoding: "utf8", timeout: 60_000 },
  );
  assert.equal(r.status, 1);
  assert.match(r.stdout + r.stderr, /cleanup failed/);
  assert.doesNotMatch(r.stdout + r.stderr, /not-the-key-of-this-nftlb/);
});

test("--cleanup flag garbage is a usage error (exit 2)", () => {
  const r = spawnSync(process.execPath, [BIN, "syncer", "--cleanup", "--node-rules", "maybe"], {
    encoding: "utf8",
    timeout: 30_000,
  });
  assert.equal(r.status, 2);
});
