// The nftlb client against the real nftlb 1.0.7 in a network namespace: what it writes is what
// nftlb holds, and every refusal comes back as the right kind of error.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { cannotBuildNetwork, createTestNetwork, testFarm, type TestNetwork } from "../lab/net/index.ts";
import { createNftlbClient, type NftlbClient } from "../nftlb/index.ts";

const skip = cannotBuildNetwork();
let net: TestNetwork | undefined;
let client: NftlbClient;

before(async () => {
  if (skip) return;
  net = await createTestNetwork({ backends: 0 });
  client = createNftlbClient({ url: net.nftlb.url, key: net.nftlb.key, timeoutMs: 30_000 });
});
after(async () => net?.destroy());

const fakeBackends = (n: number) =>
  Array.from({ length: n }, (_, i) => ({
    name: `pod-${i}`,
    ip: `10.240.${Math.floor(i / 250)}.${(i % 250) + 1}`,
  }));

test("round trip: upsert, get, list, delete a backend, an address, the farm", async (t) => {
  if (skip) return t.skip(skip);
  const farm = testFarm(
    { name: "default.web.http", vip: net!.vip(10), port: 80, backends: fakeBackends(3) },
    { persistence: "srcip", "persist-ttl": "120", scheduler: "hash", "sched-param": "srcip srcport" },
  );
  const written = await client.upsertFarms([farm]);
  assert.ok(written.ok, JSON.stringify(written));
  const got = await client.getFarm(farm.name);
  assert.ok(got.ok && got.value);
  const { state, ...rest } = got.value;
  assert.equal(state, "up");
  assert.deepEqual(rest, {
    ...farm,
    mark: "0x0",
    // Sent without marks: nftlb picked them (kube-nftlb's own farms carry marks from 0x002).
    backends: farm.backends.map((b, i) => ({ ...b, weight: "1", priority: "1", mark: `0x${i + 1}` })),
  });
  const listed = await client.listFarms();
  assert.ok(listed.ok);
  assert.deepEqual(
    listed.value.map((f) => f.name),
    [farm.name],
  );
  assert.deepEqual(await client.deleteBackend(farm.name, "pod-1"), { ok: true, value: undefined });
  const second = {
    name: `${farm.name}-extra`,
    family: "ipv4" as const,
    "ip-addr": net!.vip(11),
    ports: "80",
    protocol: "tcp" as const,
  };
  assert.ok((await client.upsertFarms([{ name: farm.name, addresses: [second] }])).ok);
  assert.deepEqual(await client.deleteAddress(farm.name, second.name), { ok: true, value: undefined });
  const after1 = await client.getFarm(farm.name);
  assert.ok(after1.ok && after1.value);
  assert.deepEqual(
    after1.value.backends.map((b) => b.name),
    ["pod-0", "pod-2"],
  );
  assert.deepEqual(
    after1.value.addresses.map((a) => a.name),
    [`${farm.name}-v4`],
  );
  assert.deepEqual(await client.deleteFarm(farm.name), { ok: true, value: undefined });
  assert.deepEqual(await client.getFarm(farm.name), { ok: true, value: undefined });
});

test("a 1,000-backend farm is written and read back whole", async (t) => {
  if (skip) return t.skip(skip);
  const farm = testFarm({
    name: "default.big.http",
    vip: net!.vip(20),
    port: 80,
    backends: fakeBackends(1000),
  });
  const res = await client.upsertFarms([farm]);
  assert.ok(res.ok, JSON.stringify(res).slice(0, 500));
  const got = await client.getFarm(farm.name);
  assert.ok(got.ok && got.value);
  assert.equal(got.value.backends.length, 1000);
  assert.deepEqual(
    got.value.backends.map((b) => [b.name, b["ip-addr"], b.port, b.state]),
    farm.backends.map((b) => [b.name, b["ip-addr"], "8080", "up"]),
  );
  assert.ok((await client.deleteFarm(farm.name)).ok);
});

test("a 150-character dotted farm name is accepted", async (t) => {
  if (skip) return t.skip(skip);
  const name = `${"n".repeat(63)}.${"s".repeat(63)}.${"p".repeat(22)}`;
  assert.equal(name.length, 150);
  const res = await client.upsertFarms([
    testFarm({ name, vip: net!.vip(30), port: 80, backends: fakeBackends(1) }),
  ]);
  assert.ok(res.ok, JSON.stringify(res));
  assert.ok((await client.deleteFarm(name)).ok);
});

test("errors are classified: wrong key fatal, unknown value / unknown farm terminal, daemon down retryable", async (t) => {
  if (skip) return t.skip(skip);
  const wrongKey = createNftlbClient({ url: net!.nftlb.url, key: "not-the-key", timeoutMs: 5000 });
  const denied = await wrongKey.listFarms();
  assert.ok(!denied.ok);
  assert.deepEqual([denied.error.kind, denied.error.status], ["fatal", 401]);
  assert.ok(!denied.error.message.includes("not-the-key"));
  assert.ok(!denied.error.message.includes(net!.nftlb.key));

  // Bypass the client's own checks to hear what nftlb answers.
  const raw = createNftlbClient({
    url: net!.nftlb.url,
    key: net!.nftlb.key,
    timeoutMs: 5000,
    validate: false,
  });
  const farm = testFarm({ name: "default.odd.http", vip: net!.vip(40), port: 80, backends: fakeBackends(1) });
  const unknown = await raw.upsertFarms([{ ...farm, mode: "fancy" as "snat" }]);
  assert.ok(!unknown.ok);
  assert.equal(unknown.error.kind, "terminal");
  assert.match(unknown.error.message, /Parsing unknown value 'fancy' in 'mode'/);
  // A 200 whose farm nftlb parks in config_error (dsr without interfaces) is caught by the read-back.
  const dsr = await raw.upsertFarms([{ ...farm, name: "default.dsr.http", mode: "dsr" }]);
  assert.ok(!dsr.ok);
  assert.deepEqual([dsr.error.kind, dsr.error.operation], ["terminal", "upsertFarms"]);
  assert.match(dsr.error.message, /config_error/);
  const badWeight = await raw.upsertFarms([
    { name: farm.name, backends: [{ ...farm.backends[0]!, weight: "0" }] },
  ]);
  assert.ok(!badWeight.ok);
  assert.deepEqual([badWeight.error.kind, badWeight.error.status], ["terminal", 400]);

  const noFarm = await client.deleteFarm("default.nope.http");
  assert.ok(!noFarm.ok);
  assert.deepEqual([noFarm.error.kind, noFarm.error.status], ["terminal", 404]);
  const noBackend = await client.deleteBackend(farm.name, "nope");
  assert.ok(!noBackend.ok);
  assert.deepEqual([noBackend.error.kind, noBackend.error.status], ["terminal", 404]);
  assert.deepEqual(await client.getFarm("default.nope.http"), { ok: true, value: undefined });
  for (const name of [farm.name, "default.dsr.http"]) await client.deleteFarm(name);

  await net!.nftlb.stop();
  try {
    const down = await client.listFarms();
    assert.ok(!down.ok);
    assert.equal(down.error.kind, "retryable");
  } finally {
    await net!.nftlb.restart();
  }
});

test("ping tells a restarted nftlb (farms lost) from a running one", async (t) => {
  if (skip) return t.skip(skip);
  assert.ok(
    (
      await client.upsertFarms([
        testFarm({ name: "default.keep.http", vip: net!.vip(50), port: 80, backends: fakeBackends(2) }),
      ])
    ).ok,
  );
  assert.deepEqual(await client.plantSentinel(), { ok: true, value: undefined });
  assert.deepEqual(await client.ping(), { ok: true, value: { sentinel: true } });
  const listed = await client.listFarms();
  assert.ok(listed.ok);
  assert.deepEqual(
    listed.value.map((f) => f.name),
    ["default.keep.http"],
    "the sentinel is never listed",
  );
  assert.doesNotMatch(await net!.ruleset(), /sentinel/, "the sentinel costs no kernel rules");
  await net!.nftlb.restart();
  assert.deepEqual(await client.ping(), { ok: true, value: { sentinel: false } });
  assert.deepEqual(await client.listFarms(), { ok: true, value: [] });
});
