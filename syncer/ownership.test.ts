import { test } from "node:test";
import assert from "node:assert/strict";
import type { Farm } from "../nftlb/types.ts";
import { defaultFarm } from "../nftlb/farm-fixture.test-helpers.ts";
import { SENTINEL_FARM } from "../nftlb/index.ts";
import {
  claimsNewAddress,
  ForeignHolds,
  foreignHolds,
  isMarked,
  markOwned,
  ownsIn,
  unseenHolder,
} from "./ownership.ts";

const farm = (name: string, ip = "10.96.0.10", extra: Partial<Farm> = {}): Farm =>
  defaultFarm(
    name,
    [{ name: `tcp-${ip}-80`, family: "ipv4", "ip-addr": ip, ports: "80", protocol: "tcp" }],
    [],
    extra,
  );

test("only marked farms are owned, whatever their names; the mark survives nftlb's trimming", () => {
  const known = new Map<string, Farm>();
  for (const f of [
    markOwned(farm("ns.web.http")),
    farm("www.example.com"),
    farm("lb.prod.v6"),
    { ...farm("trimmed.svc.http"), "tcp-strict-log-prefix": "kube-nftlb KNAME-FNAME" },
    markOwned(farm(SENTINEL_FARM)),
  ])
    known.set(f.name, f);
  const owns = ownsIn(known);
  assert.deepEqual(
    [...known.keys()].filter(owns),
    ["ns.web.http", "trimmed.svc.http"],
    "dotted hand-made names are not ours; the sentinel is the client's",
  );
  assert.equal(owns("absent"), false);
  assert.equal(isMarked(farm("x")), false);
});

test("a new address (not in nftlb's farm of that name) asks for a fresh read of nftlb", () => {
  const have = new Map([["a", farm("a")]]);
  assert.equal(claimsNewAddress([farm("a")], have), false);
  assert.equal(claimsNewAddress([farm("a", "10.96.0.11")], have), true, "another address");
  assert.equal(claimsNewAddress([farm("b")], have), true, "a new farm");
  assert.equal(
    claimsNewAddress([farm("b")], have, () => true),
    false,
    "one known to be held: re-checked elsewhere",
  );
});

test("foreign holds: only holders that are not desired farms; re-check frees a Service once its holder lets go", async () => {
  const desired = [farm("ns.web.http"), farm("ns.db.http", "10.96.0.11")];
  const holds = foreignHolds(
    [
      { farm: "ns.web.http", address: "tcp-10.96.0.10-80", heldBy: "legacy" },
      { farm: "ns.db.http", address: "tcp-10.96.0.11-80", heldBy: "ns.web.http" },
    ],
    desired,
    (f) => `ns/${f.split(".")[1]}`,
  );
  assert.deepEqual(
    holds.map((h) => [h.key, h.heldBy]),
    [["ns/web", "legacy"]],
  );
  const w = new ForeignHolds();
  assert.equal(w.set(undefined, holds).length, 1, "new: logged once");
  assert.equal(w.set(undefined, holds).length, 0, "seen before");
  let legacy: Farm | undefined = farm("legacy");
  const nftlb = {
    getFarm: (name: string) =>
      Promise.resolve({ ok: true as const, value: name === "legacy" ? legacy : undefined }),
  };
  assert.deepEqual(await w.recheck(nftlb), [], "still held");
  legacy = farm("legacy", "10.0.0.9");
  legacy.addresses[0]!.name = "other";
  assert.deepEqual(await w.recheck(nftlb), ["ns/web"], "the holder moved off the address");
  assert.equal(w.count, 0);
});

test("unseenHolder: an address about to be claimed is worth a full re-read only when nftlb lists a holder not seen", () => {
  const web = markOwned(farm("ns.web.http", "10.96.0.10"));
  const known = new Map([[web.name, web]]);
  const db = farm("ns.db.http", "10.96.0.11");
  const listed = (ip: string, used = 1, name = `tcp-${ip}-80`) => ({
    name,
    family: "ipv4" as const,
    "ip-addr": ip,
    ports: "80",
    protocol: "tcp" as const,
    used,
  });
  assert.equal(unseenHolder([db], known, [listed("10.96.0.10")]), false, "only known addresses listed");
  assert.equal(unseenHolder([web], known, [listed("10.96.0.10", 2)]), false, "nothing new is claimed");
  assert.equal(unseenHolder([db], known, [listed("10.96.0.11")]), true, "an object of the claimed name");
  assert.equal(
    unseenHolder([db], known, [listed("10.96.0.11", 1, "vip-by-hand")]),
    true,
    "another name on the claimed VIP:port",
  );
  const shared = farm("ns.web2.http", "10.96.0.10");
  assert.equal(
    unseenHolder([shared], new Map(), [listed("10.96.0.10", 1)]),
    true,
    "an object no known farm accounts for",
  );
  const other = markOwned(farm("ns.other.http", "10.96.0.10"));
  assert.equal(
    unseenHolder([{ ...db, addresses: web.addresses }], new Map([[other.name, other]]), [
      listed("10.96.0.10", 2),
    ]),
    true,
    "used by more farms than the known ones",
  );
});
