// nftlb's defaults, one table (nftlb/normalise.ts), against the real nftlb 1.0.7 in a network
// namespace: what the daemon's GET shows for a farm that set nothing is exactly that table, and a
// farm the syncer wants with the cluster's defaults, once written, reads back equal to what was
// sent. plan and parse agree because both go through that table; this proves the table is nftlb's.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { request } from "node:http";
import { cannotBuildNetwork, createTestNetwork, type TestNetwork } from "../lab/net/index.ts";
import { createNftlbClient, type NftlbClient } from "../nftlb/index.ts";
import {
  ADDRESS_DEFAULTS,
  BACKEND_DEFAULTS,
  FARM_DEFAULTS,
  normaliseFarm,
  type NormalFarm,
} from "../nftlb/normalise.ts";
import type { Farm } from "../nftlb/types.ts";
import { desired } from "../syncer/desired.ts";
import { looksLikeOurFarm } from "../syncer/desired-names.ts";
import { isEmpty, operations, plan } from "../syncer/plan.ts";
import { sendOperation } from "../syncer/plan-send.test-helpers.ts";
import { NODE, service, slice } from "../syncer/desired-fixtures.test-helpers.ts";

const skip = cannotBuildNetwork();
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

before(async () => {
  if (skip) return;
  net = await createTestNetwork({ backends: 1 });
  nftlb = createNftlbClient({ url: net.nftlb.url, key: net.nftlb.key, timeoutMs: 15_000 });
});
after(async () => {
  if (!skip) await net.destroy();
});

describe("nftlb's defaults, one table", () => {
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
    // Every default nftlb lists: the raw value, trimmed, is the table's (GET omits log-prefix and
    // intra-connect at their defaults, so for those the omission is the check).
    for (const [k, v] of Object.entries(FARM_DEFAULTS)) {
      const got = raw[k];
      if (k === "log-prefix" || k === "intra-connect") assert.equal(got, undefined, k);
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
    const p = plan(farms, await list(), { owns: looksLikeOurFarm });
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
    assert.ok(isEmpty(plan(farms, await list(), { owns: looksLikeOurFarm })), "and plans to nothing");
    for (const op of operations(plan([], await list(), { owns: looksLikeOurFarm })))
      assert.ok((await sendOperation(nftlb, op)).ok);
  });
});
