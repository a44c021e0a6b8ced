// nftlb's defaults live in one table (normalise.ts): parse fills what GET leaves out from it, and
// plan compares through it, so a farm read back and the farm wanted with the defaults agree by
// construction. These tests fail if either side grows defaults of its own.
import { test } from "node:test";
import assert from "node:assert/strict";
import { parseFarms } from "./parse.ts";
import {
  ADDRESS_DEFAULTS,
  BACKEND_DEFAULTS,
  FARM_DEFAULTS,
  FARM_FIELDS,
  normaliseBackend,
  normaliseFarm,
} from "./normalise.ts";
import type { Farm } from "./types.ts";

/** Fields nftlb's GET leaves out while they hold the default (test/syncer-plan-nftlb.test.ts). */
const OMITTED_AT_DEFAULT: readonly string[] = ["log-prefix", "tcp-strict-log-prefix", "intra-connect"];

const bare = JSON.stringify({
  farms: [
    {
      name: "shop.web.http",
      addresses: [{ name: "a", "ip-addr": "10.96.0.10" }],
      backends: [{ name: "b", "ip-addr": "10.1.0.1" }],
    },
  ],
});

test("parse fills every field GET leaves out from the one defaults table", () => {
  const r = parseFarms(bare);
  assert.ok(r.ok, JSON.stringify(r));
  const [f] = r.value;
  assert.ok(f !== undefined);
  for (const k of FARM_FIELDS) {
    if (OMITTED_AT_DEFAULT.includes(k)) continue; // optional in Farm: GET omits them at their default
    assert.equal(f[k], FARM_DEFAULTS[k], k);
  }
  assert.equal(f.family, ADDRESS_DEFAULTS.family);
  assert.equal(f.protocol, ADDRESS_DEFAULTS.protocol);
  assert.deepEqual(
    { family: f.addresses[0]?.family, ports: f.addresses[0]?.ports, protocol: f.addresses[0]?.protocol },
    { family: ADDRESS_DEFAULTS.family, ports: ADDRESS_DEFAULTS.ports, protocol: ADDRESS_DEFAULTS.protocol },
  );
  const b = f.backends[0];
  assert.ok(b !== undefined);
  assert.deepEqual(
    { port: b.port, weight: b.weight, priority: b.priority, state: b.state },
    {
      port: BACKEND_DEFAULTS.port,
      weight: BACKEND_DEFAULTS.weight,
      priority: BACKEND_DEFAULTS.priority,
      state: BACKEND_DEFAULTS.state,
    },
  );
});

test("a bare GET farm, parsed, compares equal to the farm wanted with every default spelt out", () => {
  const r = parseFarms(bare);
  assert.ok(r.ok);
  const wanted: Farm = {
    name: "shop.web.http",
    family: "ipv4",
    protocol: "tcp",
    ...FARM_DEFAULTS,
    addresses: [{ name: "a", family: "ipv4", "ip-addr": "10.96.0.10", ports: "", protocol: "tcp" }],
    backends: [{ name: "b", "ip-addr": "10.1.0.1", port: "", state: "up" }],
  };
  assert.deepEqual(normaliseFarm(r.value[0]!), normaliseFarm(wanted));
  // The raw answer, unparsed, normalises the same: plan may be given either.
  const raw = (JSON.parse(bare) as { farms: Record<string, unknown>[] }).farms[0]!;
  assert.deepEqual(normaliseFarm(raw), normaliseFarm(wanted));
});

test("a backend with nftlb's default state compares as configured up", () => {
  const b = { name: "b", "ip-addr": "10.1.0.1", port: "", state: "up" as const };
  const got = normaliseFarm({ name: "f", backends: [{ name: "b", "ip-addr": "10.1.0.1" }] });
  assert.deepEqual(got?.backends.get("b"), normaliseBackend(b));
});
