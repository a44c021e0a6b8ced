// ScopeIndex: a batch plans its Services and everything sharing an address with them, settles
// conflicts exactly as over every Service, and follows nftlb's farms (capacity, farm marks) as
// the client's map changes.
import { test } from "node:test";
import assert from "node:assert/strict";
import type { Farm } from "../nftlb/types.ts";
import { measure } from "./capacity.ts";
import { desired, type DesiredService } from "./desired.ts";
import { resolveConflicts } from "./desired-conflicts.ts";
import { NODE, service, slice } from "./desired-fixtures.test-helpers.ts";
import { farmMarksOf } from "./plan-marks.ts";
import { ScopeIndex, type Settled } from "./scope-index.ts";
import { isMarked, markOwned, OWNER_FIELD } from "./ownership.ts";
import { KnownFarms } from "../nftlb/known-farms.ts";

const ownerByName = (farm: string) => farm.split(".").slice(0, 2).join("/");

/** Service shop/NAME on ClusterIP `ip`, created at `t` (older wins a conflict), with externalIPs. */
const svc = (name: string, ip: string, t: string, externalIPs: string[] = []): DesiredService =>
  desired(
    service(
      { clusterIP: ip, clusterIPs: [ip], ...(externalIPs.length ? { externalIPs } : {}) },
      { name, creationTimestamp: t },
    ),
    [slice(`${name}-1`, [{ ip: `10.244.0.${ip.split(".")[3]}` }], { svc: name })],
    NODE,
  );

/** The client's kind of map holding these farms. */
function knownOf(farms: Iterable<Farm>): KnownFarms {
  const known = new KnownFarms();
  for (const f of farms) known.set(f.name, f);
  return known;
}

function index(services: DesiredService[], known = new KnownFarms()) {
  const ix = new ScopeIndex(ownerByName);
  for (const s of services) ix.setDesired(`shop/${s.service.name}`, s);
  ix.follow(known);
  return ix;
}

test("a batch selects its own Service, not the others", () => {
  const ix = index([svc("a", "10.96.0.1", "1"), svc("b", "10.96.0.2", "2"), svc("c", "10.96.0.3", "3")]);
  const s = ix.select(["shop/b"]);
  assert.deepEqual([...s.keys], ["shop/b"]);
  assert.deepEqual(
    s.farms.map((f) => f.name),
    ["shop.b.http"],
  );
  assert.deepEqual(ix.actualOf(s.keys), []);
});

test("every Service claiming an address the batch claims is selected, transitively, and conflicts settle as over all", () => {
  // a and b share 192.0.2.1, b and c share 192.0.2.2; d shares nothing.
  const all = [
    svc("a", "10.96.0.1", "2020-01-01T00:00:00Z", ["192.0.2.1"]),
    svc("b", "10.96.0.2", "2020-01-02T00:00:00Z", ["192.0.2.1", "192.0.2.2"]),
    svc("c", "10.96.0.3", "2020-01-03T00:00:00Z", ["192.0.2.2"]),
    svc("d", "10.96.0.4", "2020-01-04T00:00:00Z"),
  ];
  const ix = index(all);
  const s = ix.select(["shop/c"]);
  assert.deepEqual([...s.keys].sort(), ["shop/a", "shop/b", "shop/c"]);
  const global = resolveConflicts(all);
  assert.deepEqual(
    s.farms,
    global.farms.filter((f) => !f.name.startsWith("shop.d.")),
  );
  assert.equal(global.conflicts.length, 2);
  assert.deepEqual(s.conflicts, global.conflicts);
});

test("the owner of an nftlb farm holding an address the batch claims is selected, with that farm", () => {
  const a = svc("a", "10.96.0.1", "1");
  const held: Farm = { ...a.farms[0]!, name: "shop.old.http" };
  const ix = index([a, svc("z", "10.96.0.9", "9")], knownOf([held]));
  const s = ix.select(["shop/a"]);
  assert.deepEqual([...s.keys].sort(), ["shop/a", "shop/old"]);
  assert.deepEqual(
    ix.actualOf(s.keys).map((f) => f.name),
    ["shop.old.http"],
  );
});

test("a full selection plans every Service", () => {
  const a = svc("a", "10.96.0.1", "1");
  const other: Farm = { ...a.farms[0]!, name: "handmade", addresses: [] };
  const ix = index([a, svc("b", "10.96.0.2", "2")], knownOf([other]));
  const s = ix.select(undefined);
  assert.deepEqual([...s.keys].sort(), ["shop/a", "shop/b"]);
  assert.deepEqual(
    s.farms.map((f) => f.name),
    ["shop.a.http", "shop.b.http"],
  );
});

// Following the client's map's journal, and comparing every farm (a map not followed before: here
// a copy of it each time).
for (const journaled of [false, true]) {
  test(`follow() keeps capacity, farm marks, marked and foreign farms equal to a count over every farm, through changes and deletions (${journaled ? "journal" : "walk"})`, () => {
    const farms = [svc("a", "10.96.0.1", "1"), svc("b", "10.96.0.2", "2"), svc("c", "10.96.0.3", "3")].map(
      (s, i) => (i === 2 ? s.farms[0]! : markOwned(s.farms[0]!)),
    );
    const known = knownOf(farms);
    const ix = index([], known);
    const follow = () => ix.follow(journaled ? known : knownOf(known.values()));
    const same = () => {
      const { farms: n, addresses, backends, memoryBytes } = measure(known.values());
      assert.deepEqual(ix.capacity(), { farms: n, addresses, backends, memoryBytes });
      assert.deepEqual(new Set(ix.farmMarks()), farmMarksOf(known.values()));
      assert.equal(ix.marked, [...known.values()].filter(isMarked).length);
      assert.deepEqual(
        new Set([...ix.foreign()].map((f) => f.name)),
        new Set([...known.values()].filter((f) => !isMarked(f)).map((f) => f.name)),
      );
    };
    same();
    // A changed farm is a new object (as the client stores it); one goes, one comes.
    known.set("shop.a.http", {
      ...farms[0]!,
      mark: "0x1000",
      backends: [...farms[0]!.backends, ...farms[1]!.backends],
    });
    known.delete("shop.b.http");
    known.set("shop.d.http", { ...farms[1]!, name: "shop.d.http", mark: "0x2000" });
    // One loses kube-nftlb's mark (edited by hand), one gains it (written by the syncer).
    known.set("shop.a.http", { ...known.get("shop.a.http")!, [OWNER_FIELD]: "" });
    known.set("shop.c.http", markOwned(farms[2]!));
    follow();
    same();
    known.delete("shop.a.http");
    known.delete("shop.c.http");
    follow();
    same();
    // Read anew (listFarms: cleared, then every farm set again).
    known.clear();
    for (const f of farms) known.set(f.name, f);
    follow();
    same();
  });
}

test("a Service gone is no longer selected nor planned; the others' planned farms stay", () => {
  const ix = index([svc("a", "10.96.0.1", "1"), svc("b", "10.96.0.2", "2")]);
  const all = ix.select(undefined);
  ix.keepSettled(ix.settle(all.keys, all.farms, ix.ownerOfFarm));
  ix.setDesired("shop/a", undefined);
  const s = ix.select(["shop/a"]);
  assert.deepEqual(s.farms, []);
  assert.deepEqual(
    [...ix.plannedFarms()].map((f) => f.name),
    ["shop.b.http"],
  );
});

test("a draft's settled farms stand in its Services' place in plannedFarms(draft), and count only once kept", () => {
  const ix = index([svc("a", "10.96.0.1", "1"), svc("b", "10.96.0.2", "2")]);
  const all = ix.select(undefined);
  ix.keepSettled(ix.settle(all.keys, all.farms, ix.ownerOfFarm));
  const planned = (draft?: Settled) =>
    [...ix.plannedFarms(draft)].map((f) => `${f.name} ${f.addresses.length}`);
  const before = planned();
  // a gains an external IP, c is new: the draft's farms replace a's and add c's, in place.
  ix.setDesired("shop/a", svc("a", "10.96.0.1", "1", ["192.0.2.9"]));
  ix.setDesired("shop/c", svc("c", "10.96.0.3", "3"));
  const s = ix.select(["shop/a", "shop/c"]);
  const draft = ix.settle(s.keys, s.farms, ix.ownerOfFarm);
  assert.deepEqual(planned(draft), ["shop.a.http 2", "shop.b.http 1", "shop.c.http 1"]);
  assert.deepEqual(planned(), before, "nothing kept yet");
  ix.keepSettled(draft);
  assert.deepEqual(planned(), ["shop.a.http 2", "shop.b.http 1", "shop.c.http 1"]);
});
