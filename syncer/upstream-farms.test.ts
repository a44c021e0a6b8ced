import { test } from "node:test";
import assert from "node:assert/strict";
import type { Farm } from "../nftlb/types.ts";
import { defaultFarm } from "../nftlb/farm-fixture.test-helpers.ts";
import { markOwned } from "./ownership.ts";
import { adoptions, intoAdopted, UPSTREAM_FARM } from "./upstream-farms.ts";

const farm = (name: string, ips: string[], up = true): Farm =>
  defaultFarm(
    name,
    ips.map((ip) => ({ name: `a-${ip}`, family: "ipv4", "ip-addr": ip, ports: "80", protocol: "tcp" })),
    [{ name: "b", "ip-addr": "10.1.0.1", port: "8080", state: up ? "up" : "down" }],
  );
const known = (...farms: Farm[]) => farms;

test("the original project's farm names: <service>--<port>", () => {
  for (const n of ["my-service--http", "web--80"]) assert.ok(UPSTREAM_FARM.test(n), n);
  for (const n of ["default.web.http", "handmade", "--http", "web--", "Web--http"])
    assert.ok(!UPSTREAM_FARM.test(n), n);
});

test("adoption: off adopts nothing new; on writes the desired farm into the upstream farm holding its address", () => {
  const want = [farm("default.web.http", ["10.96.0.10", "192.168.0.1"])];
  const have = known(farm("web--http", ["10.96.0.10"]), farm("www.example.com", ["10.96.0.10"]));
  assert.equal(adoptions(want, have, false).into.size, 0);
  const a = adoptions(want, have, true);
  assert.deepEqual([...a.into], [["default.web.http", "web--http"]]);
  assert.deepEqual(a.fresh, [{ farm: "default.web.http", upstream: "web--http" }]);
  assert.deepEqual(
    intoAdopted(want, a).map((f) => f.name),
    ["web--http"],
  );
});

test("adoption waits while the Service has no backend up, or the upstream farm holds more than it needs", () => {
  const none = adoptions(
    [farm("default.web.http", ["10.96.0.10"], false)],
    known(farm("web--http", ["10.96.0.10"])),
    true,
  );
  assert.equal(none.into.size, 0);
  assert.match(none.waiting[0]!.why, /no backend up/);
  const more = adoptions(
    [farm("default.web.http", ["10.96.0.10"])],
    known(farm("web--http", ["10.96.0.10", "10.96.0.99"])),
    true,
  );
  assert.equal(more.into.size, 0);
  assert.match(more.waiting[0]!.why, /also holds tcp 10.96.0.99:80/);
});

test("once adopted (marked), the farm stays the Service's, adoption on or off", () => {
  const a = adoptions(
    [farm("default.web.http", ["10.96.0.10"], false)],
    known(markOwned(farm("web--http", ["10.96.0.10"]))),
    false,
  );
  assert.deepEqual([...a.into], [["default.web.http", "web--http"]]);
  assert.deepEqual(a.fresh, []);
});
