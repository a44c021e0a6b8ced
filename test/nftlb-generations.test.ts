// Every nft generation the real nftlb writes while the syncer's plan replaces a farm's backends
// keeps its promise to a new connection (test/nft-generations.ts): the choice rule's numgen
// modulus is exactly its map's keys and every chosen mark has a DNAT address. This is the
// generation side of issue 14's "never a moment without a backend", checked deterministically
// rather than by waiting for a lost packet (docs/nftlb.md, "The failing connections of that
// test"): the request shapes of test/syncer-replace.test.ts at a smaller size — renames slice by
// slice and at once, set down then deleted 25 a request, deleted at once, down and back — and a
// seeded walk through random sets.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { cannotBuildNetwork, createTestNetwork, testFarm, type TestNetwork } from "../lab/net/index.ts";
import { inNs } from "../lab/net/sys.ts";
import { createNftlbClient, type NftlbClient } from "../nftlb/index.ts";
import { normaliseFarm } from "../nftlb/normalise.ts";
import type { Backend } from "../nftlb/types.ts";
import { backendChanges } from "../syncer/plan-backends.ts";
import {
  farmProblems,
  generationProblems,
  parseGenerations,
  watchGenerations,
  type GenerationWatch,
} from "./nft-generations.ts";
import { until } from "./until.ts";

const skip = cannotBuildNetwork();

describe("the generation check", () => {
  // A monitor's text as nft 1.0.6 prints it (two farms' worth of lines cut to the rules read).
  const text = (modulus: number, dnat: string) =>
    [
      "add rule ip nftlb filter-web ct state new ct mark 0x00000000 ct mark set numgen inc mod " +
        `${modulus} map { 0 : 0x80000001, 1-2 : 0x80000002 } # handle 7`,
      `add rule ip nftlb nat-web ip protocol tcp dnat ip to ct mark map { ${dnat} } # handle 9`,
      "# new generation 3 by process 1 (nftlb)",
      "delete rule ip nftlb filter-web handle 7",
      "delete rule ip nftlb nat-web handle 9",
      "delete chain ip nftlb filter-web",
      "delete chain ip nftlb nat-web",
      "# new generation 4 by process 1 (nftlb)",
    ].join("\n");
  const both = "0x80000001 : 10.0.0.1 . 80, 0x80000002 : 10.0.0.2 . 80";

  test("reads each generation's farms, weights as ranges, deleted farms gone", () => {
    const gens = parseGenerations(text(3, both));
    assert.deepEqual(
      gens.map((g) => g.id),
      [3, 4],
    );
    assert.deepEqual(gens[0]!.farms.get("web"), {
      choice: { modulus: 3, keys: [0, 1, 2], marks: [0x80000001, 0x80000002] },
      dnat: [0x80000001, 0x80000002],
    });
    assert.equal(gens[1]!.farms.size, 0);
    assert.deepEqual(generationProblems(gens), []);
  });

  test("a modulus above the map's keys, one below, a chosen mark without address: each named", () => {
    assert.deepEqual(generationProblems(parseGenerations(text(4, both))), [
      "generation 3, farm web: numgen mod 4 but the choice map lacks 1 of its numbers (3…)",
    ]);
    assert.deepEqual(generationProblems(parseGenerations(text(2, both))), [
      "generation 3, farm web: numgen mod 2 never draws 1 of the choice map's keys",
    ]);
    assert.deepEqual(generationProblems(parseGenerations(text(3, "0x80000001 : 10.0.0.1 . 80"))), [
      "generation 3, farm web: 1 chosen marks have no DNAT address (0x80000002…)",
    ]);
    assert.deepEqual(farmProblems({ dnat: [1] }), ["no choice rule: a new connection gets no backend"]);
    assert.deepEqual(farmProblems({}), ["no choice rule: a new connection gets no backend"]);
  });
});

describe("nftlb's generations under the syncer's plan", { skip }, () => {
  const FARM = "web";
  /** 3 slices of 40, as test/syncer-replace.test.ts's 3 of up to 1,000 (a delete costs by the farm's size). */
  const SLICE = 40;
  let net: TestNetwork;
  let nftlb: NftlbClient;
  let watch: GenerationWatch;
  let requests = 0;

  const ip = (i: number) => `10.220.${i >> 8}.${i & 255}`;
  const backend = (i: number, down = false): Backend => ({
    name: `web-${i}`,
    "ip-addr": ip(i),
    port: "8080",
    state: down ? "down" : "up",
  });
  const range = (from: number, n: number) => Array.from({ length: n }, (_, i) => from + i);
  const ok = <T>(r: { ok: true; value: T } | { ok: false; error: unknown }): T => {
    if (!r.ok) throw new Error(JSON.stringify(r.error));
    return r.value;
  };

  /** The syncer's requests from the farm's backends now to `want`: one POST, then its deletes 25 a request. */
  const goTo = async (want: readonly number[], down: ReadonlySet<number> = new Set()) => {
    const now = normaliseFarm(ok(await nftlb.getFarm(FARM))!)!;
    const { patches, remove } = backendChanges(
      want.map((i) => backend(i, down.has(i))),
      now,
    );
    ok(await nftlb.upsertFarms([{ name: FARM, backends: patches }]));
    requests++;
    for (let i = 0; i < remove.length; i += 25) {
      ok(await nftlb.deleteBackends(FARM, remove.slice(i, i + 25)));
      requests++;
    }
  };

  /** Waits until the monitor shows a transaction of our own: everything before it is in. */
  const mark = (name: string) =>
    until(`the monitor shows table ${name}`, async () => {
      await inNs(net.nftlb.ns, ["nft", "add", "table", "ip", name]);
      return watch.text().includes(`add table ip ${name}`);
    });

  before(async () => {
    net = await createTestNetwork({ backends: 1, ports: [8080] });
    nftlb = createNftlbClient({ url: net.nftlb.url, key: net.nftlb.key, timeoutMs: 30_000 });
    watch = watchGenerations(net.nftlb.ns);
    await mark("generations-start");
    const farm = testFarm({ name: FARM, vip: net.vip(10), port: 80, backends: [] });
    ok(await nftlb.upsertFarms([{ ...farm, backends: range(0, 3 * SLICE).map((i) => backend(i)) }]));
    requests++;
  });

  after(async () => {
    await watch?.stop();
    await net?.destroy();
  });

  test("every generation: the modulus is the choice map's keys, every chosen mark has an address", async () => {
    const a = range(0, 3 * SLICE);
    const b = range(1000, 3 * SLICE);
    const c = range(2000, 3 * SLICE);
    // Slice by slice (renames of the going entries), back at once, then a rollout: new slices
    // first, old ones dropped (set down, deleted after), each a step.
    for (let s = 1; s <= 3; s++) await goTo([...b.slice(0, s * SLICE), ...a.slice(s * SLICE)]);
    await goTo(a);
    for (let s = 1; s <= 3; s++) await goTo([...a, ...c.slice(0, s * SLICE)]);
    for (let s = 1; s <= 3; s++) await goTo([...a.slice(s * SLICE), ...c]);
    // A few dropped (deleted at once, no set down first), some set down and brought back.
    await goTo(c.slice(5));
    const some = new Set(c.slice(5, 30));
    await goTo(c.slice(5), some);
    await goTo(c);
    // A seeded walk: each step keeps a random part and adds some new backends, a few down.
    let seed = 14;
    const random = () => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32;
    let now = c;
    let next = 3000;
    for (let s = 0; s < 10; s++) {
      now = [...now.filter(() => random() < 0.6), ...range(next, Math.floor(random() * 60) + 1)];
      next += 200;
      await goTo(now, new Set(now.filter(() => random() < 0.05)));
    }
    await mark("generations-end");

    const gens = parseGenerations(watch.text());
    const written = gens.filter((g) => g.farms.get(FARM)?.choice !== undefined);
    console.log(
      `# ${requests} requests to nftlb, ${written.length} generations with the farm's rules checked`,
    );
    assert.ok(
      written.length >= requests,
      `a generation at least per request (${written.length} of ${requests})`,
    );
    assert.deepEqual(generationProblems(gens), []);
  });
});
