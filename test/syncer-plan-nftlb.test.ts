// plan against the real nftlb 1.0.7 (lab/net: a network namespace running the daemon): what plan
// sends converges, and what nftlb's GET then answers plans to nothing — the proof that plan reads
// GET's shape (defaults, padding, first-address shortcuts) correctly.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { cannotBuildNetwork, createTestNetwork, type TestNetwork } from "../lab/net/index.ts";
import { createNftlbClient, type NftlbClient } from "../nftlb/index.ts";
import type { Farm } from "../nftlb/types.ts";
import { parseManifest } from "../manifests/load.ts";
import { desired } from "../syncer/desired.ts";
import { resolveConflicts } from "../syncer/desired-conflicts.ts";
import { looksLikeOurFarm } from "../syncer/desired-names.ts";
import { isEmpty, operations, plan, requestCount } from "../syncer/plan.ts";
import { sendOperation } from "../syncer/plan-send.test-helpers.ts";

const skip = cannotBuildNetwork();
const owns = { owns: looksLikeOurFarm };
let net: TestNetwork;
let nftlb: NftlbClient;

async function list(): Promise<Farm[]> {
  const r = await nftlb.listFarms();
  assert.ok(r.ok, JSON.stringify(r));
  return r.value;
}

/** Applies a plan in its documented order; returns the number of requests made. */
async function apply(want: Farm[]): Promise<number> {
  const p = plan(want, await list(), owns);
  assert.deepEqual(p.blocked, []);
  for (const op of operations(p)) {
    const r = await sendOperation(nftlb, op);
    assert.ok(r.ok, `${JSON.stringify(op)}: ${JSON.stringify(r)}`);
  }
  return requestCount(p);
}

async function assertConverged(want: Farm[]) {
  const p = plan(want, await list(), owns);
  assert.ok(isEmpty(p), `a second plan should be empty: ${JSON.stringify(p)}`);
}

before(async () => {
  if (skip) return;
  net = await createTestNetwork({ backends: 1 });
  nftlb = createNftlbClient({ url: net.nftlb.url, key: net.nftlb.key, timeoutMs: 15_000 });
});
after(async () => {
  if (!skip) await net.destroy();
});

describe("plan against the real nftlb", () => {
  it("examples/render: created in one POST, then nothing left to do", async (t) => {
    if (skip) return t.skip(skip);
    const dir = join(import.meta.dirname, "..", "examples", "render");
    const objects = readdirSync(dir).flatMap((f) =>
      parseManifest(f, readFileSync(join(dir, f))).objects.map((o) => o.object),
    );
    const node = { name: "node-a", addresses: ["192.168.1.10", "fd01::10"] };
    const slices = objects.filter((o) => o.kind === "EndpointSlice");
    const services = objects.filter((o) => o.kind === "Service").map((s) => desired(s, slices, node));
    const { farms } = resolveConflicts(services);
    assert.equal(await apply(farms), 1);
    await assertConverged(farms);
    assert.equal(await apply([]), farms.length, "one DELETE per farm");
    assert.deepEqual(await list(), []);
  });

  it("changes converge with the fewest requests, and the next plan is empty", async (t) => {
    if (skip) return t.skip(skip);
    const backends = (ns: number[]) =>
      ns.map((n) => ({
        name: `web-${n}`,
        "ip-addr": `10.203.${net.slot}.${100 + n}`,
        port: "8080",
        state: "up" as const,
      }));
    const farm = (over: Partial<Farm>): Farm => ({
      name: "shop.web.http",
      family: "ipv4",
      protocol: "tcp",
      mode: "snat",
      scheduler: "rr",
      "sched-param": "none",
      persistence: "none",
      "persist-ttl": "60",
      helper: "none",
      log: "none",
      addresses: [
        { name: `tcp-${net.vip(1)}-80`, family: "ipv4", "ip-addr": net.vip(1), ports: "80", protocol: "tcp" },
      ],
      backends: backends([1, 2, 3]),
      ...over,
    });
    const tuned = {
      scheduler: "hash",
      "sched-param": "srcip",
      persistence: "srcip",
      "persist-ttl": "120",
      log: "output",
      "log-prefix": "k8s shop/web ",
    } as const;
    const vip2 = {
      name: `tcp-${net.vip(2)}-80`,
      family: "ipv4",
      "ip-addr": net.vip(2),
      ports: "80",
      protocol: "tcp",
    } as const;
    const steps: [string, Farm[], number][] = [
      ["create", [farm({})], 1],
      ["scheduler hash srcip, persistence srcip, log: one POST", [farm(tuned)], 1],
      ["scale 3 → 1: one request deletes the two", [farm({ ...tuned, backends: backends([1]) })], 1],
      ["scale 1 → 5: one POST", [farm({ ...tuned, backends: backends([1, 2, 3, 4, 5]) })], 1],
      [
        "replace every backend: one POST (2 entries renamed to the 2 new), one request deletes the other 3",
        [farm({ ...tuned, backends: backends([6, 7]) })],
        2,
      ],
      [
        "ClusterIP changed: POST, DELETE address",
        [farm({ ...tuned, backends: backends([6, 7]), addresses: [vip2] })],
        2,
      ],
      [
        "protocol changed: DELETE farm, POST",
        [
          farm({
            ...tuned,
            protocol: "udp",
            backends: backends([6, 7]),
            addresses: [{ ...vip2, name: `udp-${net.vip(2)}-80`, protocol: "udp" }],
          }),
        ],
        2,
      ],
      ["removed: DELETE farm", [], 1],
    ];
    for (const [name, want, requests] of steps) {
      const count = await apply(want);
      await assertConverged(want);
      const have = await list();
      for (const w of want) {
        const h = have.find((f) => f.name === w.name);
        assert.deepEqual(h?.backends.map((b) => b.name).sort(), w.backends.map((b) => b.name).sort(), name);
      }
      assert.equal(count, requests, `${name}: requests`);
    }
  });
});
