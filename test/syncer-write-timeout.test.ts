// A write to the real nftlb that takes longer than the client's timeout (nftlb is single-threaded:
// a big POST on a loaded node legitimately does; here nftlb is SIGSTOPped while it is sent):
// - the client gives a POST the deadline its caller asks for, the configured timeout as the floor;
// - after a write timed out the syncer sends nothing but nftlb's ping until nftlb answers it (it
//   is most likely still applying the write), then re-reads nftlb: the batch is POSTed once, not
//   again, and every farm is in place.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { cannotBuildNetwork } from "../lab/net/index.ts";
import { createNftlbClient, type NftlbClient } from "../nftlb/index.ts";
import { defaultFarm } from "../nftlb/farm-fixture.test-helpers.ts";
import { startSyncer, type Syncer } from "../syncer/run.ts";
import { nftlbPid, startWorld, syncerConfig, type SyncerWorld } from "./syncer-fixture.ts";
import { until } from "./until.ts";

const skip = cannotBuildNetwork();
const NS = "default";

let world: SyncerWorld;
let syncer: Syncer;
/** What the syncer's worker asked nftlb, in order (the probe's pings are not in it). */
const calls: string[] = [];
/** Set by a test: the next POST of `farm` with backends goes to a SIGSTOPped nftlb. */
let stopOnPost: { pid: number; farm: string; at?: number; pass?: number; timedOut?: boolean } | undefined;
const withBackends = (farm: string) => (call: string) =>
  call.startsWith("POST ") && call.includes(`${farm}(`) && !call.includes(`${farm}(0)`);

const recording = (c: NftlbClient): NftlbClient => ({
  ...c,
  listFarms: async () => {
    const at = calls.push("GET /farms") - 1;
    const r = await c.listFarms();
    calls[at] += r.ok ? ` ${r.value.map((f) => `${f.name}(${f.backends.length})`).join(",")}` : " failed";
    return r;
  },
  ping: () => (calls.push("ping"), c.ping()),
  upsertFarms: async (farms, opts) => {
    calls.push(`POST ${farms.map((f) => `${f.name}(${f.backends?.length ?? 0})`).join(",")}`);
    const stop = stopOnPost && withBackends(stopOnPost.farm)(calls.at(-1)!) ? stopOnPost : undefined;
    if (stop) {
      stopOnPost = undefined;
      stop.at = calls.length - 1;
      stop.pass = syncer.reconciler.stats.syncs;
      process.kill(stop.pid, "SIGSTOP");
    }
    const r = await c.upsertFarms(farms, opts);
    if (stop) stop.timedOut = !r.ok;
    return r;
  },
});

const service = (name: string, vip: string) => ({
  apiVersion: "v1",
  kind: "Service",
  metadata: { name, namespace: NS },
  spec: { clusterIP: vip, ports: [{ name: "http", port: 80, protocol: "TCP", targetPort: 8080 }] },
});
const slice = (svc: string) => ({
  apiVersion: "discovery.k8s.io/v1",
  kind: "EndpointSlice",
  metadata: { name: `${svc}-1`, namespace: NS, labels: { "kubernetes.io/service-name": svc } },
  addressType: "IPv4",
  endpoints: world.net.backends.map((b) => ({ addresses: [b.ip], conditions: { ready: true } })),
  ports: [{ name: "http", port: 8080, protocol: "TCP" }],
});
const addService = async (name: string, vip: string) => {
  await world.core.createNamespacedService({ namespace: NS, body: service(name, vip) });
  await world.discovery.createNamespacedEndpointSlice({ namespace: NS, body: slice(name) });
};
const programmed = async (farm: string) => {
  const r = await world.nftlb.getFarm(farm);
  return r.ok && r.value?.backends.length === world.net.backends.length;
};

before(async () => {
  if (skip) return;
  world = await startWorld({ backends: 2, port: 8080 });
  syncer = await startSyncer(syncerConfig(world.net, world.api, { nftlbTimeoutMs: 1_000 }), {
    log: world.log,
    wrapNftlb: recording,
  });
  await syncer.started;
  await addService("web", world.net.vip(10));
  await until("the first Service is programmed", () => programmed(`${NS}.web.http`));
});

after(async () => {
  if (skip) return;
  if (world) process.kill(nftlbPid(world.net), "SIGCONT");
  await syncer?.stop();
  await world?.destroy();
});

test(
  "upsertFarms: a POST may take as long as its caller's deadline, past the client's timeout",
  { skip },
  async () => {
    const client = createNftlbClient({ url: world.net.nftlb.url, key: world.net.nftlb.key, timeoutMs: 300 });
    const farm = defaultFarm(
      `${NS}.raw.http`,
      [
        {
          name: `${NS}.raw.http-v4`,
          family: "ipv4",
          "ip-addr": world.net.vip(11),
          ports: "80",
          protocol: "tcp",
        },
      ],
      [{ name: "raw-0", "ip-addr": world.net.backends[0]!.ip, port: "8080", state: "up" }],
    );
    const pid = nftlbPid(world.net);
    process.kill(pid, "SIGSTOP");
    let written;
    try {
      const posting = client.upsertFarms([farm], { timeoutMs: 60_000 });
      // Pings on the client's own timeout, one after the other from the POST's start: when the
      // second got no answer, the POST has waited past that timeout (about twice).
      for (const n of [1, 2]) {
        const pinged = await client.ping();
        assert.equal(pinged.ok, false, `ping ${n} got no answer while nftlb was stopped`);
        // No answer in time, not a refusal: only a timeout means the POST waited that long.
        if (!pinged.ok) assert.match(pinged.error.message, /no complete answer within \d+ ms/);
      }
      process.kill(pid, "SIGCONT");
      written = await posting;
    } finally {
      process.kill(pid, "SIGCONT");
    }
    assert.equal(written.ok, true, JSON.stringify(written));
    const gone = await world.nftlb.deleteFarm(farm.name);
    assert.equal(gone.ok, true);
  },
);

test(
  "a POST that timed out is not sent again: ping until nftlb answers, re-read, POSTed once",
  { skip },
  async () => {
    const farm = `${NS}.late.http`;
    const stop: NonNullable<typeof stopOnPost> = { pid: nftlbPid(world.net), farm };
    stopOnPost = stop;
    const from = calls.length;
    await addService("late", world.net.vip(12));
    try {
      await until("the POST to the stopped nftlb failed (no answer in time)", () => stop.timedOut);
      // A pass after the one whose POST timed out, nftlb still stopped (a pass sends its first
      // request as it starts).
      await until("the syncer tried again", () => syncer.reconciler.stats.syncs > stop.pass!);
      await until("the pass after the timeout pings nftlb first", () =>
        calls.slice(stop.at! + 1).includes("ping"),
      );
      const since = calls.slice(stop.at! + 1);
      assert.deepEqual(
        since.filter((c) => c !== "ping"),
        [],
        "while nftlb did not answer its ping, the syncer sent it nothing else",
      );
    } finally {
      process.kill(stop.pid, "SIGCONT");
    }
    await until("the Service is programmed", () => programmed(farm));
    // Retrying since the timeout; 0 once a pass after SIGCONT went through.
    await until("no key is retrying", async () => {
      const metrics = await (await fetch(`http://127.0.0.1:${syncer.probePort}/metrics`)).text();
      return /^kube_nftlb_queue_retrying 0$/m.test(metrics);
    });
    assert.ok(
      calls.slice(stop.at! + 1).some((c) => c.startsWith("GET /farms")),
      `nftlb was read again after the timed-out POST: ${calls.slice(stop.at! + 1).join(" | ")}`,
    );
    const posts = calls.slice(from).filter(withBackends(farm));
    assert.equal(posts.length, 1, `the batch's farm POSTed once: ${calls.slice(from).join(" | ")}`);
    assert.ok(await programmed(`${NS}.web.http`), "the other Service's farm is still in place");
  },
);
