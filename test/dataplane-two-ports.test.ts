// Issue #16 item 4 against the real nftlb, with packets: one endpoint address on two ports (two
// hostNetwork Pods of one node) gives two backends, and nftlb balances over both ports.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { cannotBuildNetwork, createTestNetwork, tally, type TestNetwork } from "../lab/net/index.ts";
import { createNftlbClient, type NftlbClient } from "../nftlb/index.ts";
import { desired } from "../syncer/desired.ts";
import { NODE, service, slice } from "../syncer/desired-fixtures.test-helpers.ts";

const skip = cannotBuildNetwork();
let net: TestNetwork | undefined;
let client: NftlbClient;

before(async () => {
  if (skip) return;
  // The backend answers on 8080 only: a connection balanced to its 8081 is refused.
  net = await createTestNetwork({ backends: 1, ports: [8080] });
  client = createNftlbClient({ url: net.nftlb.url, key: net.nftlb.key, timeoutMs: 10_000 });
});
after(async () => net?.destroy());

test("one address on two ports: two backends in nftlb, and connections reach both ports", async (t) => {
  if (skip) return t.skip(skip);
  const ip = net!.backends[0]!.ip;
  const vip = net!.vip(20);
  const farms = desired(
    service({ clusterIP: vip, clusterIPs: [vip] }),
    [
      slice("web-1", [{ ip, pod: "web-a" }], { ports: [{ name: "http", port: 8080, protocol: "TCP" }] }),
      slice("web-2", [{ ip, pod: "web-b" }], { ports: [{ name: "http", port: 8081, protocol: "TCP" }] }),
    ],
    NODE,
  ).farms;
  const written = await client.upsertFarms(farms);
  assert.ok(written.ok, JSON.stringify(written));
  const farm = await client.getFarm(farms[0]!.name);
  assert.ok(farm.ok);
  assert.deepEqual(farm.value?.backends.map((b) => `${b["ip-addr"]}:${b.port}`).sort(), [
    `${ip}:8080`,
    `${ip}:8081`,
  ]);
  // Round robin over both: about half the connections land on 8081, where nothing listens.
  const answers = tally(await net!.client.many("tcp", vip, 80, 20, { timeoutMs: 1000 }));
  assert.ok((answers["(failed)"] ?? 0) >= 5, `some connections go to port 8081: ${JSON.stringify(answers)}`);
  assert.ok((answers[net!.backends[0]!.name] ?? 0) >= 5, `some go to port 8080: ${JSON.stringify(answers)}`);
});
