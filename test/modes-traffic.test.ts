// Real packets through the real nftlb: a client namespace connects to VIPs routed to the node,
// and backends answer with their own names. Farms are written with the nftlb client.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import {
  cannotBuildNetwork,
  createTestNetwork,
  tally,
  testFarm,
  type TestNetwork,
} from "../lab/net/index.ts";
import { createNftlbClient, type NftlbClient } from "../nftlb/index.ts";
import type { Farm } from "../nftlb/types.ts";
import { until } from "./until.ts";

const skip = cannotBuildNetwork();
let net: TestNetwork | undefined;
let client: NftlbClient;

before(async () => {
  if (skip) return;
  net = await createTestNetwork({ backends: 3 });
  client = createNftlbClient({ url: net.nftlb.url, key: net.nftlb.key, timeoutMs: 10_000 });
});
after(async () => net?.destroy());

const apply = async (farm: Farm) => {
  const res = await client.upsertFarms([farm]);
  assert.ok(res.ok, JSON.stringify(res));
};
const names = (n: number) => net!.backends.slice(0, n).map((b) => b.name);

/** Polls until the node's ruleset satisfies `ok` (nftlb updates MACs from neighbour events). */
const rulesetUntil = (ok: (rules: string) => boolean, what: string): Promise<string> => {
  let rules = "";
  return until(
    what,
    async () => {
      rules = await net!.ruleset();
      return ok(rules) ? rules : undefined;
    },
    { timeoutMs: 5000, intervalMs: 50, detail: () => `ruleset:\n${rules}` },
  );
};

test("snat + rr: answered by exactly the farm's backends, spread evenly", async (t) => {
  if (skip) return t.skip(skip);
  const vip = net!.vip(10);
  await apply(testFarm({ name: "default.rr.http", vip, port: 80, backends: net!.backends.slice(0, 2) }));
  const answers = await net!.client.many("tcp", vip, 80, 20);
  assert.deepEqual(tally(answers), { [names(2)[0]!]: 10, [names(2)[1]!]: 10 });
});

test("persistence srcip keeps one client on one backend", async (t) => {
  if (skip) return t.skip(skip);
  const vip = net!.vip(11);
  await apply(
    testFarm(
      { name: "default.sticky.http", vip, port: 80, backends: net!.backends },
      { persistence: "srcip" },
    ),
  );
  const counts = tally(await net!.client.many("tcp", vip, 80, 12));
  assert.equal(Object.keys(counts).length, 1, JSON.stringify(counts));
  assert.ok(names(3).includes(Object.keys(counts)[0]!), JSON.stringify(counts));
});

test("a UDP farm answers, from its backends", async (t) => {
  if (skip) return t.skip(skip);
  const vip = net!.vip(12);
  await apply(testFarm({ name: "default.dns.dns", vip, port: 53, protocol: "udp", backends: net!.backends }));
  const counts = tally(await net!.client.many("udp", vip, 53, 9));
  assert.deepEqual(counts, Object.fromEntries(names(3).map((n) => [n, 3])));
});

test("a backend with state down never answers", async (t) => {
  if (skip) return t.skip(skip);
  const vip = net!.vip(13);
  const down = names(3)[2]!;
  await apply(testFarm({ name: "default.down.http", vip, port: 80, backends: net!.backends, down: [down] }));
  const counts = tally(await net!.client.many("tcp", vip, 80, 20));
  assert.deepEqual(Object.keys(counts).sort(), names(2));
  assert.equal(counts[down], undefined);
});

test("dnat carries traffic (backends see the client and answer through the node)", async (t) => {
  if (skip) return t.skip(skip);
  const vip = net!.vip(14);
  await apply(testFarm({ name: "default.dnat.http", vip, port: 80, backends: net!.backends, mode: "dnat" }));
  assert.deepEqual(
    tally(await net!.client.many("tcp", vip, 80, 9)),
    Object.fromEntries(names(3).map((n) => [n, 3])),
  );
});

const ingressFarm = async (name: string, vip: string, mode: "dsr" | "stlsdnat", scheduler: Partial<Farm>) =>
  testFarm(
    { name, vip, port: 8080, backends: net!.backends.slice(0, 2), mode },
    {
      ...scheduler,
      iface: net!.node.clientIface,
      oface: net!.node.backendIface(net!.backends[0]!.name),
      addresses: [
        {
          name: `${name}-v4`,
          family: "ipv4",
          "ip-addr": vip,
          ports: "8080",
          protocol: "tcp",
          "ether-addr": await net!.node.mac(net!.node.clientIface),
        },
      ],
      // dsr forwards frames: the backend port cannot differ from the VIP port.
      backends: net!.backends
        .slice(0, 2)
        .map((b) => ({ name: b.name, "ip-addr": b.ip, port: "", state: "up" as const })),
    },
  );

test("dsr with a flow hash carries TCP: backends hold the VIP on their loopback", async (t) => {
  if (skip) return t.skip(skip);
  const vip = net!.vip(20);
  for (const b of net!.backends) await b.holdVip(vip);
  await apply(
    await ingressFarm("default.dsr.http", vip, "dsr", { scheduler: "hash", "sched-param": "srcip srcport" }),
  );
  await net!.learnNeighbours();
  await rulesetUntil(
    (r) => /chain default\.dsr\.http/.test(r) && !/00:00:00:00:00:00/.test(r),
    "backend MACs known",
  );
  const counts = tally(await net!.client.many("tcp", vip, 8080, 12));
  assert.equal(counts["(failed)"], undefined, JSON.stringify(counts));
  assert.deepEqual(Object.keys(counts).sort(), names(2), "both backends answer");
});

test("dsr with rr breaks TCP: nftlb picks a backend per packet, not per connection", async (t) => {
  if (skip) return t.skip(skip);
  const vip = net!.vip(21);
  for (const b of net!.backends) await b.holdVip(vip);
  await apply(await ingressFarm("default.dsrrr.http", vip, "dsr", { scheduler: "rr" }));
  await net!.learnNeighbours();
  const rules = await rulesetUntil(
    (r) => /chain default\.dsrrr\.http/.test(r) && !/00:00:00:00:00:00/.test(r),
    "MACs",
  );
  assert.match(rules, /numgen inc mod 2/, "stateless round robin at the ingress hook");
  const counts = tally(await net!.client.many("tcp", vip, 8080, 6, { timeoutMs: 500 }));
  assert.ok((counts["(failed)"] ?? 0) > 0, `expected broken connections, got ${JSON.stringify(counts)}`);
});

test("stlsdnat with backends behind another interface: nftlb 1.0.7 says up, nft installs nothing", async (t) => {
  if (skip) return t.skip(skip);
  const vip = net!.vip(22);
  const farm = await ingressFarm("default.stls.http", vip, "stlsdnat", {
    scheduler: "hash",
    "sched-param": "srcip srcport",
  });
  await apply(farm);
  await net!.learnNeighbours();
  const got = await client.getFarm(farm.name);
  assert.ok(got.ok && got.value?.state === "up", "the API reports success");
  // nftlb writes the return-path elements into a map named after the client-side interface
  // (proto-services-dnat-client) while it created the map for the backend side (…-dnat-br0).
  assert.doesNotMatch(await net!.ruleset(), /default\.stls\.http/);
  const counts = tally(await net!.client.many("tcp", vip, 8080, 2, { timeoutMs: 500 }));
  assert.deepEqual(counts, { "(failed)": 2 });
  assert.ok((await client.deleteFarm(farm.name)).ok);
});

test("dsr with persistence srcip: stateless, yet one client sticks to one backend", async (t) => {
  if (skip) return t.skip(skip);
  const vip = net!.vip(23);
  for (const b of net!.backends) await b.holdVip(vip);
  await apply(
    await ingressFarm("default.dsrp.http", vip, "dsr", {
      scheduler: "hash",
      "sched-param": "srcip srcport",
      persistence: "srcip",
      "persist-ttl": "60",
    }),
  );
  await net!.learnNeighbours();
  const rules = await rulesetUntil(
    (r) => /chain default\.dsrp\.http/.test(r) && !/00:00:00:00:00:00/.test(r),
    "MACs",
  );
  // nftlb keeps dsr persistence in a timed map of source address → backend MAC (no conntrack).
  assert.match(rules, /map persist-default\.dsrp\.http \{\s+type ipv4_addr : ether_addr/);
  const counts = tally(await net!.client.many("tcp", vip, 8080, 12, { timeoutMs: 500 }));
  assert.equal(counts["(failed)"], undefined, JSON.stringify(counts));
  assert.equal(Object.keys(counts).length, 1, `one backend for one client: ${JSON.stringify(counts)}`);
});
