// The syncer against the real nftlb when nftlb is changed or stalled behind its back:
// - drift: farms edited by hand through nftlb's own API (a backend, an address, a whole farm
//   deleted, the scheduler changed) are repaired by the periodic resync, which re-reads nftlb;
//   a resync with nothing to repair writes nothing;
// - a hung nftlb (SIGSTOP of the real daemon in its namespace) turns nftlb_up to 0 and /readyz
//   false while a request of the worker is still stuck in it (the probe does not wait behind
//   it); SIGCONT and both come back, and the change made meanwhile goes through.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { cannotBuildNetwork } from "../lab/net/index.ts";
import type { NftlbClient } from "../nftlb/index.ts";
import type { Farm } from "../nftlb/types.ts";
import { startSyncer, type Syncer } from "../syncer/run.ts";
import { nftlbPid, startWorld, syncerConfig, type SyncerWorld } from "./syncer-fixture.ts";
import { until } from "./until.ts";

const skip = cannotBuildNetwork();
const NS = "default";
const FARM = `${NS}.web.http`;

let world: SyncerWorld;
let syncer: Syncer;
/** Requests of the syncer's worker started and finished, to tell one stuck in nftlb. */
const requests = { started: 0, finished: 0 };

const slice = (n: number) => ({
  apiVersion: "discovery.k8s.io/v1",
  kind: "EndpointSlice",
  metadata: { name: "web-1", namespace: NS, labels: { "kubernetes.io/service-name": "web" } },
  addressType: "IPv4",
  endpoints: world.net.backends.slice(0, n).map((b) => ({ addresses: [b.ip], conditions: { ready: true } })),
  ports: [{ name: "http", port: 8080, protocol: "TCP" }],
});

before(async () => {
  if (skip) return;
  world = await startWorld({ backends: 3, port: 8080 });
  // Every request the syncer's worker sends (not the probe's), started and finished.
  const counting = (c: NftlbClient): NftlbClient => {
    const counted =
      <A extends unknown[], T>(fn: (...a: A) => Promise<T>) =>
      async (...a: A): Promise<T> => {
        requests.started++;
        try {
          return await fn(...a);
        } finally {
          requests.finished++;
        }
      };
    return {
      ...c,
      listFarms: counted(() => c.listFarms()),
      upsertFarms: counted((farms: Parameters<NftlbClient["upsertFarms"]>[0]) => c.upsertFarms(farms)),
      deleteBackends: counted((farm: string, names: readonly string[]) => c.deleteBackends(farm, names)),
    };
  };
  syncer = await startSyncer(syncerConfig(world.net, world.api, { resyncMs: 1_000 }), {
    log: world.log,
    wrapNftlb: counting,
  });
  await syncer.started;
  await world.core.createNamespacedService({
    namespace: NS,
    body: {
      apiVersion: "v1",
      kind: "Service",
      metadata: { name: "web", namespace: NS },
      spec: {
        clusterIP: world.net.vip(10),
        ports: [{ name: "http", port: 80, protocol: "TCP", targetPort: 8080 }],
      },
    },
  });
  await world.discovery.createNamespacedEndpointSlice({ namespace: NS, body: slice(2) });
  await until("the farm is programmed", async () => (await farm())?.backends.length === 2);
});

after(async () => {
  if (skip) return;
  await syncer?.stop();
  await world?.destroy();
});

const farm = async (): Promise<Farm | undefined> => {
  const r = await world.nftlb.getFarm(FARM);
  return r.ok ? r.value : undefined;
};

/** What the syncer is to keep: the farm's fields, its addresses and backends, in name order. */
const shape = (f: Farm | undefined) =>
  f && {
    ...f,
    addresses: f.addresses.toSorted((a, b) => a.name.localeCompare(b.name)),
    backends: f.backends.toSorted((a, b) => a.name.localeCompare(b.name)),
  };

/** A request to nftlb's API as an operator would send it (curl), not through kube-nftlb's client. */
const byHand = async (method: "POST" | "DELETE", path: string, body?: string) => {
  const r = await fetch(`${world.net.nftlb.url}${path}`, {
    method,
    headers: { Key: world.net.nftlb.key, ...(body ? { "Content-Type": "application/json" } : {}) },
    ...(body ? { body } : {}),
  });
  assert.equal(r.status, 200, `${method} ${path}: ${await r.text()}`);
};

const fullSyncs = async (): Promise<number> => {
  const m = await syncer.status.metrics.fullSync.get();
  return m.values.find((v) => v.metricName?.endsWith("_count"))?.value ?? 0;
};

const drift: [string, (f: Farm) => [method: "POST" | "DELETE", path: string, body?: string]][] = [
  ["a backend deleted", (f) => ["DELETE", `/farms/${FARM}/backends/${f.backends[0]!.name}`]],
  ["the address deleted", (f) => ["DELETE", `/farms/${FARM}/addresses/${f.addresses[0]!.name}`]],
  [
    "the scheduler changed",
    () => ["POST", "/farms", JSON.stringify({ farms: [{ name: FARM, scheduler: "hash" }] })],
  ],
  ["the whole farm deleted", () => ["DELETE", `/farms/${FARM}`]],
];
for (const [what, edit] of drift)
  test(`drift: ${what} by hand → the resync repairs it`, { skip }, async () => {
    const want = shape(await farm())!;
    const writes = syncer.reconciler.stats.writes;
    await byHand(...edit(want));
    // A repair is a write: the edit did change nftlb, and the syncer put it back.
    await until("the farm is repaired", async () => {
      if (syncer.reconciler.stats.writes === writes) return false;
      try {
        assert.deepEqual(shape(await farm()), want);
        return true;
      } catch {
        return false;
      }
    });
  });

test("a resync with no drift writes nothing to nftlb", { skip }, async () => {
  // From the end of a full resync (the last repair's follow-up, if any, done), two more.
  const settled = await fullSyncs();
  await until("a full resync ran", async () => (await fullSyncs()) > settled);
  const writes = syncer.reconciler.stats.writes;
  const syncs = await fullSyncs();
  await until("two full resyncs ran", async () => (await fullSyncs()) >= syncs + 2);
  assert.equal(syncer.reconciler.stats.writes, writes);
});

const probe = async (path: string) => {
  const r = await fetch(`http://127.0.0.1:${syncer.probePort}${path}`);
  return { status: r.status, body: await r.text() };
};
const nftlbUp = async () => /^kube_nftlb_nftlb_up (\d)/m.exec((await probe("/metrics")).body)?.[1];

test(
  "a hung nftlb: nftlb_up 0 and /readyz false while a request is stuck; SIGCONT: both back",
  { skip },
  async () => {
    assert.equal(await nftlbUp(), "1");
    assert.equal((await probe("/readyz")).status, 200);
    const pid = nftlbPid(world.net);
    process.kill(pid, "SIGSTOP");
    try {
      await world.discovery.replaceNamespacedEndpointSlice({ name: "web-1", namespace: NS, body: slice(3) });
      // The change's write, or the resync's GET /farms before it: either waits on the stopped nftlb.
      await until("a request to the stopped nftlb is in flight", () => requests.started > requests.finished);
      const finished = requests.finished;
      await until(
        "nftlb_up is 0 and /readyz false",
        async () => (await nftlbUp()) === "0" && (await probe("/readyz")).status !== 200,
      );
      assert.equal(
        requests.finished,
        finished,
        "seen while that request is still stuck: the probe did not wait behind it",
      );
      // The 503 says why: the probe's own timeout, not a bare "not ready".
      assert.match(
        (await probe("/readyz")).body,
        /^not ready: nftlb does not answer \(GET \/farms\/kube-nftlb-sentinel: no complete answer within \d+ ms\)/,
      );
    } finally {
      process.kill(pid, "SIGCONT");
    }
    await until(
      "nftlb_up is 1 and /readyz true",
      async () => (await nftlbUp()) === "1" && (await probe("/readyz")).status === 200,
    );
    await until(
      "the change made while nftlb was stopped is programmed",
      async () => (await farm())?.backends.length === 3,
    );
  },
);
