import { test } from "node:test";
import assert from "node:assert/strict";
import {
  admit,
  BYTES_PER_ADDRESS,
  chunkUpserts,
  WRITE_DEADLINE_FACTOR,
  writeDeadlineMs,
  estimateMemory,
  footprint,
  measure,
  MEMORY_HEADROOM,
  writeMs,
  postFixedMs,
  postMs,
} from "./capacity.ts";
import type { Farm } from "../nftlb/types.ts";
import { MAX_BACKENDS_PER_FARM } from "../nftlb/marks.ts";
import { defaultFarm } from "../nftlb/farm-fixture.test-helpers.ts";

const farm = (name: string, backends: number, addresses = 1): Farm =>
  defaultFarm(
    name,
    Array.from({ length: addresses }, (_, i) => ({
      name: `a${i}`,
      family: "ipv4" as const,
      "ip-addr": `10.0.0.${i}`,
      ports: "80",
      protocol: "tcp" as const,
    })),
    Array.from({ length: backends }, (_, i) => ({
      name: `b${i}`,
      "ip-addr": `10.1.0.${i}`,
      port: "80",
      state: "up" as const,
    })),
  );

test("measure counts backends, addresses and nftlb's ~256 KiB per address", () => {
  const c = measure([farm("a.b.c", 3, 2), farm("a.d.c", 4, 1)]);
  assert.deepEqual(c, { backends: 7, addresses: 3, farms: 2, memoryBytes: estimateMemory(3, 7) });
  assert.equal(estimateMemory(1, 0) - estimateMemory(0, 0), BYTES_PER_ADDRESS);
  assert.equal(BYTES_PER_ADDRESS, 65_535 * 4, "nftlb 1.0.7: int port_list[65535] per address");
});

test("one farm holds 4,094 backends: marks 0x002-0xfff", () => assert.equal(MAX_BACKENDS_PER_FARM, 4094));

const fp = (addresses: number, backends: number, widest = backends) => ({ addresses, backends, widest });
const MiB = 1024 * 1024;
// Room for exactly 10 more addresses (with no backends) under the limit.
const room = (present: number, more: number) => (estimateMemory(present + more, 0) + 1) / MEMORY_HEADROOM;

const cases: {
  name: string;
  present: number;
  limit?: number;
  changes: [string, ReturnType<typeof fp>, ReturnType<typeof fp>][];
  refused: [string, string][];
}[] = [
  {
    name: "no memory limit given: only farm width counts",
    present: 100_000,
    changes: [["ns/a", fp(50, 0), fp(0, 0)]],
    refused: [],
  },
  {
    name: "a farm of 4,094 backends fits",
    present: 0,
    changes: [["ns/a", fp(1, 4094), fp(1, 10)]],
    refused: [],
  },
  {
    name: "a farm of 4,095 is refused, whatever the memory",
    present: 0,
    changes: [["ns/a", fp(1, 4095), fp(1, 10)]],
    refused: [["ns/a", "backends-per-farm"]],
  },
  {
    name: "exactly at the memory limit fits",
    present: 100,
    limit: room(100, 10),
    changes: [["ns/a", fp(10, 0), fp(0, 0)]],
    refused: [],
  },
  {
    name: "one address over is refused",
    present: 100,
    limit: room(100, 10),
    changes: [["ns/a", fp(11, 0), fp(0, 0)]],
    refused: [["ns/a", "memory"]],
  },
  {
    name: "a shrinking key makes room for a growing one in the same batch",
    present: 100,
    limit: room(100, 0),
    changes: [
      ["ns/grow", fp(5, 0), fp(0, 0)],
      ["ns/shrink", fp(0, 0), fp(5, 0)],
    ],
    refused: [],
  },
  {
    name: "growing keys in name order; a later small one still fits",
    present: 100,
    limit: room(100, 10),
    changes: [
      ["ns/a", fp(8, 0), fp(0, 0)],
      ["ns/b", fp(5, 0), fp(0, 0)],
      ["ns/c", fp(2, 0), fp(0, 0)],
    ],
    refused: [["ns/b", "memory"]],
  },
  {
    name: "shrinking is never refused, even over the limit",
    present: 5000,
    limit: 64 * MiB,
    changes: [["ns/a", fp(1, 1), fp(10, 10)]],
    refused: [],
  },
  {
    name: "more backends on the same addresses are not a memory refusal",
    present: 100,
    limit: room(100, 0),
    changes: [["ns/a", fp(1, 100), fp(1, 1)]],
    refused: [],
  },
];

for (const c of cases) {
  test(`admit: ${c.name}`, () => {
    const current = { ...measure([]), addresses: c.present, memoryBytes: estimateMemory(c.present, 0) };
    const r = admit(current, new Map(c.changes.map(([k, wanted, has]) => [k, { wanted, has }])), {
      memoryBytes: c.limit,
    });
    assert.deepEqual(
      r.refused.map((x) => [x.key, x.reason]),
      c.refused,
    );
    for (const x of r.refused) {
      assert.match(x.message, x.reason === "memory" ? /memory limit/ : /at most 4094 per farm/);
      assert.match(x.message, /keeps what it has/);
    }
  });
}

test("admit: the same refusal reads the same whatever else is in nftlb (one Event, not one per reconcile)", () => {
  const change = new Map([["ns/a", { wanted: fp(50, 0), has: fp(0, 0) }]]);
  const at = (present: number) =>
    admit({ ...measure([]), addresses: present, memoryBytes: 0 }, change, { memoryBytes: 64 * MiB })
      .refused[0]?.message;
  assert.equal(at(300), at(400));
});

test("footprint: addresses, backends and the widest farm", () => {
  assert.deepEqual(footprint([farm("a", 3, 2), farm("b", 7, 1)]), { addresses: 3, backends: 10, widest: 7 });
});

test("chunkUpserts: one POST while the estimate fits the budget, more when it does not; order kept", () => {
  const farms = Array.from({ length: 10 }, (_, i) => farm(`f${i}`, 10));
  assert.deepEqual(
    chunkUpserts(farms, 0, 60_000).map((c) => c.length),
    [10],
  );
  // Room for three farms and their POST's fixed part, as late as the third POST; not for four.
  const budget = postMs(farms.slice(0, 3), 1006);
  assert.ok(postMs(farms.slice(0, 4), 1000) > budget);
  const chunks = chunkUpserts(farms, 1000, budget);
  assert.deepEqual(
    chunks.map((c) => c.length),
    [3, 3, 3, 1],
  );
  assert.deepEqual(
    chunks.flat().map((f) => f.name),
    farms.map((f) => f.name),
  );
  assert.deepEqual(
    chunkUpserts([farm("huge", 4094)], 5000, 1).map((c) => c.length),
    [1],
    "a farm alone over the budget still goes, alone",
  );
  assert.deepEqual(chunkUpserts([], 0, 1), []);
});

test("writeDeadlineMs: the POST's estimate (each farm counted with the ones before it, and its read-back) times the factor", () => {
  const farms = [farm("a", 10), farm("b", 0)];
  assert.equal(
    writeDeadlineMs(farms, 1000),
    Math.ceil(WRITE_DEADLINE_FACTOR * (postFixedMs(1002) + writeMs(1000, 10) + writeMs(1001, 0))),
  );
  assert.equal(postMs(farms, 1000), postFixedMs(1002) + writeMs(1000, 10) + writeMs(1001, 0));
  assert.ok(writeDeadlineMs([farm("huge", 4094)], 5000) > writeMs(5000, 4094) * 2);
  assert.equal(writeDeadlineMs([], 5000), 0);
});

test("writeMs grows faster than the farms present (measured ~farms^1.5): a farm at 3,000 costs >3× one at 1,000", () => {
  assert.ok(writeMs(3000, 10) > 3 * writeMs(1000, 10));
  assert.ok(Math.abs(writeMs(1000, 1010) - writeMs(1000, 10) - 50) < 1e-9, "0.05 ms per backend");
});

test("chunkUpserts: every POST's estimate, its fixed part included, stays under the budget", () => {
  const farms = Array.from({ length: 2000 }, (_, i) => farm(`f${i}`, 10));
  const chunks = chunkUpserts(farms, 3000, 15_000);
  let present = 3000;
  for (const c of chunks) {
    if (c.length > 1) assert.ok(postMs(c, present) <= 15_000, `${c.length} farms at ${present}`);
    present += c.length;
  }
  assert.equal(chunks.flat().length, 2000);
});

test("chunkUpserts: as few POSTs as the budget allows: no two neighbours would fit in one", () => {
  const farms = Array.from({ length: 2000 }, (_, i) => farm(`f${i}`, 10));
  const chunks = chunkUpserts(farms, 3000, 15_000);
  let present = 3000;
  for (const [i, c] of chunks.entries()) {
    const next = chunks[i + 1];
    if (next) assert.ok(postMs([...c, next[0]!], present) > 15_000, `chunk ${i} could take one more`);
    present += c.length;
  }
});

test("chunkUpserts: a fixed part that alone fills the budget still sends each farm once, one per POST", () => {
  const farms = [farm("a", 10), farm("b", 10)];
  assert.deepEqual(
    chunkUpserts(farms, 100_000, postFixedMs(100_000)).map((c) => c.length),
    [1, 1],
  );
});
