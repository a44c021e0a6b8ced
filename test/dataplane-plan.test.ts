// syncer/plan applied through the nftlb client to the real nftlb, proven with traffic: a plan for
// "no change" is empty, and scaling never leaves a window in which the VIP has no backend.
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
import { isEmpty, operations, plan } from "../syncer/plan.ts";
import { sendOperation } from "../syncer/plan-send.test-helpers.ts";
import { until } from "./until.ts";

const skip = cannotBuildNetwork();
let net: TestNetwork | undefined;
let client: NftlbClient;

before(async () => {
  if (skip) return;
  net = await createTestNetwork({ backends: 5 });
  client = createNftlbClient({ url: net.nftlb.url, key: net.nftlb.key, timeoutMs: 10_000 });
});
after(async () => net?.destroy());

const owns = { owns: (name: string) => name.startsWith("default.") };

/** Plans against what nftlb has now, applies every operation, returns how many requests it took. */
const converge = async (desired: Farm[]): Promise<number> => {
  const actual = await client.listFarms();
  assert.ok(actual.ok, JSON.stringify(actual));
  const ops = operations(plan(desired, actual.value, owns));
  for (const op of ops) {
    const res = await sendOperation(client, op);
    assert.ok(res.ok, `${JSON.stringify(op).slice(0, 200)}: ${JSON.stringify(res)}`);
  }
  return ops.length;
};

const farmWith = (n: number) =>
  testFarm({ name: "default.scale.http", vip: net!.vip(10), port: 80, backends: net!.backends.slice(0, n) });

test('"no change" plans nothing, and a second apply writes nothing', async (t) => {
  if (skip) return t.skip(skip);
  const desired = [
    farmWith(3),
    testFarm({
      name: "default.dns.dns",
      vip: net!.vip(11),
      port: 53,
      protocol: "udp",
      backends: net!.backends,
    }),
  ];
  assert.equal(await converge(desired), 1, "one POST creates both farms");
  const actual = await client.listFarms();
  assert.ok(actual.ok);
  assert.ok(isEmpty(plan(desired, actual.value, owns)), "nftlb's own GET answer plans to nothing");
  assert.equal(await converge(desired), 0, "second apply: no request at all");
  assert.deepEqual(
    Object.keys(tally(await net!.client.many("udp", net!.vip(11), 53, 10))).sort(),
    net!.backends.map((b) => b.name),
  );
  assert.ok((await client.deleteFarm("default.dns.dns")).ok);
});

test("scaling 3 → 1 → 5 while a client loops: no connection ever fails", async (t) => {
  if (skip) return t.skip(skip);
  assert.ok((await converge([farmWith(3)])) <= 1);
  let stop = false;
  const seen: { ok: boolean; answer?: string; error?: string }[] = [];
  const loop = (async () => {
    while (!stop) seen.push(await net!.client.tcp(net!.vip(10), 80, { timeoutMs: 2000 }));
  })();
  const waitForMore = (n: number) => {
    const target = seen.length + n;
    return until(`${n} more answers`, () => seen.length >= target, { timeoutMs: 10_000, intervalMs: 5 });
  };
  try {
    await waitForMore(20);
    assert.equal(await converge([farmWith(1)]), 1, "one request deletes the two backends");
    const shrunk = seen.length;
    await waitForMore(20);
    const afterShrink = seen.length;
    assert.deepEqual(Object.keys(tally(seen.slice(shrunk + 1, afterShrink))), [net!.backends[0]!.name]);
    assert.equal(await converge([farmWith(5)]), 1, "one POST adds four backends");
    await waitForMore(40);
    stop = true;
    await loop;
    const failures = seen.filter((s) => !s.ok);
    assert.deepEqual(failures, [], `${failures.length} of ${seen.length} connections failed`);
    const late = tally(seen.slice(afterShrink + 20));
    assert.deepEqual(
      Object.keys(late).sort(),
      net!.backends.map((b) => b.name),
      "all five answer at the end",
    );
  } finally {
    stop = true;
    await loop;
  }
});
