import { test } from "node:test";
import assert from "node:assert/strict";
import { FULL } from "./reconcile.ts";
import type { Farm } from "../nftlb/types.ts";
import { backends, setup } from "./reconcile.test-helpers.ts";
import type { NodeRules } from "./node-rules.ts";

test("a Service claiming a new address reads nftlb's address objects, not every farm, when nothing new holds it", async () => {
  const t = setup();
  t.cluster.put("ns", "web", "10.96.0.10", ["10.1.0.1"]);
  t.queue.add(FULL);
  await t.run();
  const before = { ...t.nftlb.listed };
  t.cluster.put("ns", "db", "10.96.0.11", ["10.1.0.2"]);
  t.queue.add("ns/db");
  await t.run();
  assert.ok(t.nftlb.farms.has("ns.db.http"), "the new Service is programmed");
  assert.deepEqual(t.nftlb.listed, { farms: before.farms, addresses: before.addresses + 1 });
  await t.stop();
});

/** web programmed; a farm as one would make it by hand on 10.96.0.12:80 (unmarked), not in nftlb yet. */
async function webAndHandmade() {
  const t = setup();
  t.cluster.put("ns", "web", "10.96.0.10", ["10.1.0.1"]);
  t.queue.add(FULL);
  await t.run();
  const handmade: Farm = {
    ...structuredClone(t.nftlb.farms.get("ns.web.http")!),
    name: "handmade",
    "tcp-strict-log-prefix": "",
    addresses: [{ name: "vip-12", family: "ipv4", "ip-addr": "10.96.0.12", ports: "80", protocol: "tcp" }],
  };
  return { t, handmade };
}

test("a farm made behind the syncer's back on the address a new Service claims: all farms re-read, AddressInUse, no write over it", async () => {
  const { t, handmade } = await webAndHandmade();
  // By hand, since nftlb was last read: a farm of its own on 10.96.0.12:80, unmarked.
  t.nftlb.farms.set("handmade", handmade);
  const before = { ...t.nftlb.listed };
  t.cluster.put("ns", "api", "10.96.0.12", ["10.1.0.3"]);
  t.queue.add("ns/api");
  await t.run();
  assert.equal(t.nftlb.listed.farms, before.farms + 1, "the address listing showed an unseen holder");
  assert.deepEqual(t.nftlb.farms.get("handmade"), handmade, "the hand-made farm is left as it was");
  assert.ok(
    !t.nftlb.farms.get("ns.api.http")?.addresses.some((a) => a["ip-addr"] === "10.96.0.12"),
    "the Service's farm does not take the held address",
  );
  assert.ok(
    t.events.some((e) => e.includes("ns/api AddressInUse")),
    `an AddressInUse Event: ${t.events.join("; ")}`,
  );
  await t.stop();
});

test("a write waits for nftlb's answer to the ownership check; a farm made while nftlb answered it is left alone", async () => {
  const { t, handmade } = await webAndHandmade();
  // nftlb's answer to GET /addresses is held back; by hand, meanwhile, a farm on the VIP:port.
  const list = t.nftlb.listAddresses.bind(t.nftlb);
  let answer!: () => void;
  const asked = new Promise<void>((askedNow) => {
    t.nftlb.listAddresses = () => {
      askedNow();
      return new Promise((resolve) => {
        answer = () => {
          t.nftlb.farms.set("handmade", handmade);
          resolve(list());
        };
      });
    };
  });
  const writes = t.nftlb.writes.length;
  t.cluster.put("ns", "api", "10.96.0.12", ["10.1.0.3"]);
  t.queue.add("ns/api");
  const ran = t.run();
  await asked;
  await new Promise((turn) => setImmediate(turn));
  assert.equal(t.nftlb.writes.length, writes, "nothing is written while the check is unanswered");
  answer();
  await ran;
  assert.deepEqual(t.nftlb.farms.get("handmade"), handmade, "the hand-made farm is left as it was");
  assert.ok(
    !t.nftlb.farms.get("ns.api.http")?.addresses.some((a) => a["ip-addr"] === "10.96.0.12"),
    "the Service's farm does not take the held address",
  );
  await t.stop();
});

test("a pass claiming no new address asks nftlb nothing first and does not give the event loop turns for it", async () => {
  const t = setup();
  t.cluster.put("ns", "web", "10.96.0.10", ["10.1.0.1"]);
  t.queue.add(FULL);
  await t.run();
  const before = { ...t.nftlb.listed };
  // One endpoint more: the farm's address is nftlb's already, so there is no check to send.
  t.cluster.put("ns", "web", "10.96.0.10", ["10.1.0.1", "10.1.0.2"]);
  let turned = false;
  setImmediate(() => (turned = true));
  await t.reconciler.sync(["ns/web"]);
  assert.equal(turned, false, "the pass yielded to the event loop (waiting for a request it never sent)");
  assert.deepEqual(t.nftlb.listed, before, "no GET /addresses, no GET /farms");
  assert.deepEqual(backends(t.nftlb.farms.get("ns.web.http")), ["10.1.0.1", "10.1.0.2"]);
  await t.stop();
});

test("a pass whose ownership check failed leaves kube-nftlb's table as nftlb's farms and the passes that wrote say", async () => {
  const tables: NodeRules[] = [];
  const nodeRules = {
    lastError: undefined,
    update: (rules: NodeRules) => {
      tables.push(rules);
      return Promise.resolve(true as const);
    },
    hold(rules: NodeRules) {
      return this.update(rules);
    },
  };
  const refused = (r: NodeRules | undefined) => new Set(r?.noEndpoints.map((d) => d.ip));
  const t = setup({ nodeRules });
  t.cluster.put("ns", "a", "10.96.0.1", ["10.1.0.1"]);
  t.cluster.put("ns", "c", "10.96.0.3", ["10.1.0.3"]);
  t.queue.add(FULL);
  await t.run();
  // a loses its endpoints while b, new, claims an address: one batch, whose check nftlb fails.
  t.cluster.put("ns", "a", "10.96.0.1", []);
  t.cluster.put("ns", "b", "10.96.0.2", ["10.1.0.2"]);
  const list = t.nftlb.listAddresses.bind(t.nftlb);
  let asked = 0;
  t.nftlb.listAddresses = () => {
    asked++;
    t.nftlb.listAddresses = list;
    return Promise.resolve({
      ok: false,
      error: { kind: "retryable", operation: "listAddresses", message: "injected" },
    });
  };
  t.queue.add("ns/a");
  t.queue.add("ns/b");
  await t.run();
  assert.equal(asked, 1, "the batch's check went to nftlb and failed");
  assert.deepEqual(backends(t.nftlb.farms.get("ns.a.http")), ["10.1.0.1"], "the failed pass wrote nothing");
  // Before that batch's retry, another Service's pass: nftlb still balances a to its backend.
  tables.length = 0;
  t.cluster.put("ns", "c", "10.96.0.3", ["10.1.0.3", "10.1.0.4"]);
  t.queue.add("ns/c");
  await t.run();
  assert.deepEqual(backends(t.nftlb.farms.get("ns.c.http")), ["10.1.0.3", "10.1.0.4"]);
  assert.ok(tables.length > 0, "c's pass wrote the table");
  for (const r of tables)
    assert.ok(!refused(r).has("10.96.0.1"), "a's clients refused on a plan that was never written");
  // The retry writes a's change; from then on its clients are refused.
  await t.run(1_000);
  assert.deepEqual(backends(t.nftlb.farms.get("ns.a.http")), []);
  assert.ok(refused(tables.at(-1)).has("10.96.0.1"), "a, without endpoints, refused once written");
  await t.stop();
});
