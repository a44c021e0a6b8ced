// plan against the real nftlb 1.0.7 (lab/net: a network namespace running the daemon): what plan
// sends converges, and what nftlb's GET then answers plans to nothing — the proof that plan reads
// GET's shape (defaults, padding, first-address shortcuts) correctly; and nftlb's defaults table
// (nftlb/normalise.ts) is what the daemon shows.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { readFileSync, readdirSync } from "node:fs";
import { request } from "node:http";
import { join } from "node:path";
import { cannotBuildNetwork, createTestNetwork, type TestNetwork } from "../lab/net/index.ts";
import { createNftlbClient, type NftlbClient } from "../nftlb/index.ts";
import type { Farm } from "../nftlb/types.ts";
import { defaultFarm } from "../nftlb/farm-fixture.test-helpers.ts";
import {
  ADDRESS_DEFAULTS,
  BACKEND_DEFAULTS,
  FARM_DEFAULTS,
  normaliseFarm,
  type NormalFarm,
} from "../nftlb/normalise.ts";
import { parseManifest } from "../manifests/load.ts";
import { desired } from "../syncer/desired.ts";
import { resolveConflicts } from "../syncer/desired-conflicts.ts";
import { isEmpty, operations, plan, requestCount } from "../syncer/plan.ts";
import { sendOperation } from "../syncer/plan-send.test-helpers.ts";
import { NODE, service, slice } from "../syncer/desired-fixtures.test-helpers.ts";

const skip = cannotBuildNetwork();
// This nftlb holds only this file's farms: all of them are the plan's to manage.
const owns = { owns: () => true };
let net: TestNetwork;
let nftlb: NftlbClient;

/** GET /farms/<name> as nftlb answers it, untouched by our parser. */
const rawFarm = (name: string): Promise<Record<string, unknown>> =>
  new Promise((resolve, reject) => {
    const req = request(
      `${net.nftlb.url}/farms/${name}`,
      { headers: { Key: net.nftlb.key, Connection: "close" } },
      (res) => {
        let body = "";
        res.on("data", (c: Buffer) => (body += c.toString()));
        res.on("end", () => {
          const farms = (JSON.parse(body) as { farms?: Record<string, unknown>[] }).farms;
          if (farms?.[0] === undefined) reject(new Error(`no farm ${name}: ${body}`));
          else resolve(farms[0]);
        });
      },
    );
    req.on("error", reject);
    req.end();
  });

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
    const farm = (over: Partial<Farm>): Farm =>
      defaultFarm(
        "shop.web.http",
        [
          {
            name: `tcp-${net.vip(1)}-80`,
            family: "ipv4",
            "ip-addr": net.vip(1),
            ports: "80",
            protocol: "tcp",
          },
        ],
        backends([1, 2, 3]),
        over,
      );
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

// nftlb's defaults are one table (nftlb/normalise.ts) that parse fills from and plan compares
// through, so read-back and desired agree by construction; these prove the table is nftlb's.
describe("nftlb's defaults, one table (nftlb/normalise.ts)", () => {
  it("a farm that sets nothing is shown by nftlb with exactly the table's values", async (t) => {
    if (skip) return t.skip(skip);
    const vip = net.vip(1);
    const backend = net.backends[0]!;
    const up = await nftlb.upsertFarms([
      {
        name: "bare.farm.tcp",
        addresses: [{ name: "bare-addr", family: "ipv4", "ip-addr": vip, ports: "80", protocol: "tcp" }],
        backends: [
          { name: "b1", "ip-addr": backend.ip, port: "8080", state: "up" },
          { name: "b2", "ip-addr": backend.ip, port: "8081" },
        ],
      },
    ]);
    assert.ok(up.ok, JSON.stringify(up));
    const raw = await rawFarm("bare.farm.tcp");
    // Every default nftlb lists: the raw value, trimmed, is the table's (GET omits the log prefixes
    // and intra-connect at their defaults, so for those the omission is the check).
    for (const [k, v] of Object.entries(FARM_DEFAULTS)) {
      const got = raw[k];
      if (["log-prefix", "tcp-strict-log-prefix", "intra-connect"].includes(k))
        assert.equal(got, undefined, k);
      else assert.equal(typeof got === "string" ? got.trim() : got, v, k);
    }
    const rawBackend = (raw.backends as Record<string, unknown>[])[0]!;
    for (const k of ["weight", "priority"] as const) assert.equal(rawBackend[k], BACKEND_DEFAULTS[k], k);
    const stateless = (raw.backends as Record<string, unknown>[]).find((b) => b.name === "b2");
    assert.equal(stateless?.state, BACKEND_DEFAULTS.state, "a backend sent without a state");
    const rawAddress = (raw.addresses as Record<string, unknown>[]).find((a) => a.name === "bare-addr")!;
    assert.equal(rawAddress.family, ADDRESS_DEFAULTS.family);
    const del = await nftlb.deleteFarm("bare.farm.tcp");
    assert.ok(del.ok, JSON.stringify(del));
  });

  it("the farm the syncer wants with the cluster's defaults reads back equal to what was sent", async (t) => {
    if (skip) return t.skip(skip);
    const svc = service({ clusterIP: net.vip(2), clusterIPs: [net.vip(2)] });
    const eps = slice("web-1", [{ ip: net.backends[0]!.ip, pod: "web-1", ready: true }]);
    const farms = desired(svc, [eps], NODE).farms;
    assert.equal(farms.length, 1);
    const p = plan(farms, await list(), owns);
    for (const op of operations(p)) {
      const r = await sendOperation(nftlb, op);
      assert.ok(r.ok, `${JSON.stringify(op)}: ${JSON.stringify(r)}`);
    }
    const sent = p.upserts[0] as Farm;
    const back = (await list()).find((f) => f.name === sent.name);
    assert.ok(back !== undefined, `${sent.name} is in nftlb`);
    const plain = (n: NormalFarm | undefined) => ({
      ...n,
      addresses: Object.fromEntries(n?.addresses ?? []),
      backends: Object.fromEntries(n?.backends ?? []),
    });
    assert.deepEqual(plain(normaliseFarm(back)), plain(normaliseFarm(sent)));
    await assertConverged(farms);
    await apply([]);
  });
});
