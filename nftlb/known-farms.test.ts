// KnownFarms: the client's farms, indexed by IP and farm mark as they are read, written and
// deleted — a farm that moved or went away is never looked up where it was.
import { test } from "node:test";
import assert from "node:assert/strict";
import { KnownFarms } from "./known-farms.ts";
import { defaultFarm } from "./farm-fixture.test-helpers.ts";
import type { Farm } from "./types.ts";

const farm = (name: string, ip: string, mark?: string): Farm =>
  defaultFarm(
    name,
    [{ name: `tcp-${ip}-80`, family: "ipv4", "ip-addr": ip, ports: "80", protocol: "tcp" }],
    [],
    mark ? { mark } : {},
  );

test("the index follows farms replaced, deleted and cleared", () => {
  const k = new KnownFarms();
  k.set("a", farm("a", "10.0.0.1", "0x1000"));
  k.set("b", farm("b", "10.0.0.1"));
  assert.deepEqual([...k.withIp("10.0.0.1")], ["a", "b"]);
  assert.deepEqual([...k.withFarmMark(0x1000)], ["a"]);
  k.set("a", farm("a", "10.0.0.2"));
  assert.deepEqual([...k.withIp("10.0.0.1")], ["b"], "a moved to another IP");
  assert.deepEqual([...k.withIp("10.0.0.2")], ["a"]);
  assert.deepEqual([...k.withFarmMark(0x1000)], [], "and lost its farm mark");
  assert.equal(k.delete("b"), true);
  assert.deepEqual([...k.withIp("10.0.0.1")], []);
  k.clear();
  assert.deepEqual([...k.withIp("10.0.0.2")], []);
  assert.equal(k.size, 0);
});
