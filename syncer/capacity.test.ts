import { test } from "node:test";
import assert from "node:assert/strict";
import { admit, measure, MAX_BACKENDS, BYTES_PER_ADDRESS } from "./capacity.ts";
import type { Farm } from "../nftlb/types.ts";

const farm = (name: string, backends: number, addresses = 1): Farm => ({
  name,
  family: "ipv4",
  mode: "snat",
  protocol: "tcp",
  scheduler: "rr",
  "sched-param": "none",
  persistence: "none",
  "persist-ttl": "60",
  helper: "none",
  log: "none",
  addresses: Array.from({ length: addresses }, (_, i) => ({
    name: `a${i}`,
    family: "ipv4" as const,
    "ip-addr": `10.0.0.${i}`,
    ports: "80",
    protocol: "tcp" as const,
  })),
  backends: Array.from({ length: backends }, (_, i) => ({
    name: `b${i}`,
    "ip-addr": `10.1.0.${i}`,
    port: "80",
    state: "up" as const,
  })),
});

test("measure counts backends, addresses and nftlb's ~256 KB per address", () => {
  const c = measure([farm("a.b.c", 3, 2), farm("a.d.c", 4, 1)]);
  assert.deepEqual(c, { backends: 7, addresses: 3, farms: 2, addressBytes: 3 * BYTES_PER_ADDRESS });
  assert.deepEqual(measure([]), { backends: 0, addresses: 0, farms: 0, addressBytes: 0 });
});

test("the limit is nftlb's 4,095 marks", () => assert.equal(MAX_BACKENDS, 4095));

const cases: {
  name: string;
  total: number;
  changes: [string, number, number][];
  refused: string[];
  after: number;
}[] = [
  { name: "fits", total: 100, changes: [["ns/a", 50, 0]], refused: [], after: 150 },
  { name: "exactly at the limit fits", total: 4000, changes: [["ns/a", 95, 0]], refused: [], after: 4095 },
  { name: "one over is refused", total: 4000, changes: [["ns/a", 96, 0]], refused: ["ns/a"], after: 4000 },
  {
    name: "a shrinking key makes room for a growing one in the same batch",
    total: 4095,
    changes: [
      ["ns/grow", 10, 0],
      ["ns/shrink", 0, 10],
    ],
    refused: [],
    after: 4095,
  },
  {
    name: "growing keys in name order; a later small one still fits",
    total: 4000,
    changes: [
      ["ns/a", 90, 0],
      ["ns/b", 10, 0],
      ["ns/c", 5, 0],
    ],
    refused: ["ns/b"],
    after: 4095,
  },
  {
    name: "shrinking is never refused, even over the limit",
    total: 5000,
    changes: [["ns/a", 1, 10]],
    refused: [],
    after: 4991,
  },
  {
    name: "growing a key over the limit is refused",
    total: 4090,
    changes: [["ns/a", 20, 10]],
    refused: ["ns/a"],
    after: 4090,
  },
];

for (const c of cases) {
  test(`admit: ${c.name}`, () => {
    const r = admit(c.total, new Map(c.changes.map(([k, wanted, has]) => [k, { wanted, has }])));
    assert.deepEqual(
      r.refused.map((x) => x.key),
      c.refused,
    );
    assert.equal(r.total, c.after);
    for (const x of r.refused) assert.match(x.message, /limit of 4095/);
  });
}
