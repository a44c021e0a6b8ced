// The replace test's failing connections (test/syncer-replace.test.ts, docs/nftlb.md), made
// frequent: nftlb rewrites a farm as a new rule with a new anonymous map (`numgen … map {…}` for
// the choice, `dnat … ct mark map {…}` for the address), and a SYN whose chain walk began in the
// old generation uses the old rule but looks up its map in the new one, where the kernel has
// already deactivated the old map's elements: no mark, or no DNAT, and the node answers
// ENETUNREACH. The walk normally lasts a microsecond or so between its start and the lookup;
// this test lengthens it (a path of no-op jumps that only new connections take, ahead of nftlb's
// choice in nftlb's own mangle chain) so that nearly every commit meets a SYN. The rewrites keep
// every backend's mark (one endpoint's address alternates: the syncer renames its entry), so the
// other race, a mark chosen in one generation and missing from the next one's DNAT map, cannot
// be the cause. kube-nftlb's table drops such a SYN before conntrack keeps its null binding
// (syncer/node-rules.ts, straddlers): the client's retransmitted SYN is balanced, so no
// connection fails; the SYNs retransmitted are printed (each one a connection delayed by 1 s).
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { cannotBuildNetwork } from "../lab/net/index.ts";
import { ipBatch, run } from "../lab/net/sys.ts";
import { until } from "./until.ts";
import { failuresWhile, httpService, runSyncer, startWorld, type SyncerWorld } from "./syncer-fixture.ts";
import type { Syncer } from "../syncer/run.ts";

const NS = "default";
const WEB = `${NS}.web.http`;
const skip = cannotBuildNetwork();
/** Rewrites of the farm while the client loops: each one a commit a SYN may straddle. */
const REWRITES = 40;
/** The widened walk: FAN^3 no-op rules through three levels of jumps (a few ms per SYN). */
const FAN = 130;

let w: SyncerWorld;
let syncer: Syncer | undefined;
let ips: string[] = [];
let alias = "";

const slice = (addresses: readonly string[]) => ({
  apiVersion: "discovery.k8s.io/v1",
  kind: "EndpointSlice",
  metadata: { name: "web-1", namespace: NS, labels: { "kubernetes.io/service-name": "web" } },
  addressType: "IPv4",
  endpoints: addresses.map((ip) => ({ addresses: [ip], conditions: { ready: true } })),
  ports: [{ name: "http", port: 8080, protocol: "TCP" }],
});
const farmNow = async () => {
  const r = await w.nftlb.getFarm(WEB);
  return r.ok ? r.value : undefined;
};
const liveIps = async () =>
  ((await farmNow())?.backends ?? [])
    .filter((b) => b.state !== "down")
    .map((b) => b["ip-addr"])
    .sort()
    .join();
const liveMarks = async () =>
  ((await farmNow())?.backends ?? [])
    .filter((b) => b.state !== "down")
    .map((b) => b.mark)
    .sort()
    .join();
/** The client namespace's count of retransmitted SYNs (nstat, absolute). */
const synRetransmits = async () => {
  const out = await run(["ip", "netns", "exec", w.net.client.ns, "nstat", "-az", "TcpExtTCPSynRetrans"]);
  return Number(/TcpExtTCPSynRetrans\s+(\d+)/.exec(out)?.[1] ?? NaN);
};
const nft = (script: string) => run(["ip", "netns", "exec", w.net.node.ns, "nft", script]);

before(async () => {
  if (skip) return;
  w = await startWorld({ backends: 3, port: 8080 });
  ips = w.net.backends.map((b) => b.ip);
  // A second address on backend-2: the endpoint that alternates keeps answering.
  alias = `10.203.${w.net.slot}.200`;
  await ipBatch([`addr add ${alias}/24 dev eth0`], w.net.backends[2]!.ns);
  await w.core.createNamespacedService({ namespace: NS, body: httpService(NS, "web", w.net.vip(10)) });
  await w.discovery.createNamespacedEndpointSlice({ namespace: NS, body: slice(ips) });
  syncer = await runSyncer(w);
  await until("the farm programmed", async () => (await liveIps()) === [...ips].sort().join());
});

after(async () => {
  if (skip) return;
  await syncer?.stop();
  await w?.destroy();
});

test(
  `${REWRITES} rewrites of a farm that keep every mark, a SYN in nftlb's chains at each commit: no connection fails`,
  { skip },
  async () => {
    // Levels 1 and 2 jump FAN times each to the level below; level 3 holds FAN rules that match
    // nothing. Only new connections walk it, from the start of nftlb's mangle chain.
    const levels = ["knl-walk1", "knl-walk2", "knl-walk3"];
    const script = [
      ...levels.map((c) => `add chain ip nftlb ${c}`),
      ...Array.from({ length: FAN }, () => `add rule ip nftlb knl-walk3 ip saddr 192.0.2.1 counter`),
      ...Array.from({ length: FAN }, () => `add rule ip nftlb knl-walk2 jump knl-walk3`),
      ...Array.from({ length: FAN }, () => `add rule ip nftlb knl-walk1 jump knl-walk2`),
      `insert rule ip nftlb filter ct state new jump knl-walk1`,
    ].join("; ");
    await nft(script);
    const marks = await liveMarks();
    const vip = w.net.vip(10);
    const retransmitted = await synRetransmits();
    const failures = await failuresWhile(w.net, vip, 80, async () => {
      for (let i = 0; i < REWRITES; i++) {
        const now = i % 2 === 0 ? [ips[0]!, ips[1]!, alias] : ips;
        await w.discovery.replaceNamespacedEndpointSlice({ name: "web-1", namespace: NS, body: slice(now) });
        await until(`rewrite ${i + 1} programmed`, async () => (await liveIps()) === [...now].sort().join());
        assert.equal(await liveMarks(), marks, "the rename keeps every backend's mark");
      }
    });
    // The straddlers kube-nftlb's table caught: their SYN dropped before conntrack kept it, the
    // retransmission balanced (a connection delayed by 1 s, printed, not a failure).
    const delayed = (await synRetransmits()) - retransmitted;
    console.log(
      `# ${REWRITES} rewrites: ${failures.length} connections failed, ${delayed} SYNs retransmitted`,
    );
    assert.deepEqual(failures, [], "every connection during the rewrites reached a backend");
  },
);
