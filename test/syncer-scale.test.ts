// The syncer at scale, against the real nftlb in a network namespace with real packets (issue
// 14): marks shared across farms, marks across a syncer restart, and 10,000 backends on one
// node. All endpoints of a large Service replaced at once, and refused for capacity:
// syncer-replace.test.ts. Times are printed, never asserted.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import type { CoreV1Api, DiscoveryV1Api } from "@kubernetes/client-node";
import { findResource } from "../lab/apiserver/resources.ts";
import { cannotBuildNetwork, type TestNetwork } from "../lab/net/index.ts";
import { ipBatch } from "../lab/net/sys.ts";
import type { Farm, NftlbClient } from "../nftlb/index.ts";
import type { Syncer } from "../syncer/run.ts";
import {
  answering,
  failuresWhile,
  httpService,
  runSyncer,
  startWorld,
  type SyncerWorld,
} from "./syncer-fixture.ts";
import { until } from "./until.ts";

const skip = cannotBuildNetwork();
const NS = "default";
const PREFIX = "service.kubernetes.io/kube-nftlb-load-balancer-";

let world: SyncerWorld;
let net: TestNetwork;
let core: CoreV1Api;
let discovery: DiscoveryV1Api;
let nftlb: NftlbClient;
let syncer: Syncer | undefined;
/** Endpoint addresses held by backend namespaces: set A on backend-0/1, set B on backend-2/3. */
let setA: string[] = [];
let setB: string[] = [];

const start = async () => {
  syncer = await runSyncer(world);
};
const service = (name: string, vip: string, annotations: Record<string, string> = {}) =>
  httpService(NS, name, vip, annotations);

/** An EndpointSlice of `svc`; endpoints named by their address, or by their backend namespace's name. */
const slice = (svc: string, name: string, endpoints: { ip: string; pod?: string }[]) => ({
  apiVersion: "discovery.k8s.io/v1",
  kind: "EndpointSlice",
  metadata: { name, namespace: NS, labels: { "kubernetes.io/service-name": svc } },
  addressType: "IPv4",
  endpoints: endpoints.map((e) => ({
    addresses: [e.ip],
    conditions: { ready: true },
    ...(e.pod ? { targetRef: { kind: "Pod", name: e.pod, namespace: NS } } : {}),
  })),
  ports: [{ name: "http", port: 8080, protocol: "TCP" }],
});

const farm = async (name: string): Promise<Farm | undefined> => {
  const r = await nftlb.getFarm(name);
  return r.ok ? r.value : undefined;
};
const live = (f: Farm | undefined) => (f?.backends ?? []).filter((b) => b.state !== "down");
const within = (got: Set<string>, allowed: readonly string[]) =>
  got.size > 0 && [...got].every((x) => allowed.includes(x));
const hex = (n: number) => `0x${n.toString(16)}`;

before(async () => {
  if (skip) return;
  world = await startWorld({
    backends: 4,
    port: 8080,
    nodeAddresses: (n) => [{ type: "InternalIP", address: n.node.clientSideIp }],
  });
  ({ net, core, discovery, nftlb } = world);
  // 100 more addresses on backend-0/1 (set A) and 100 on backend-2/3 (set B), on the bridge.
  const host = (i: number) => `10.203.${net.slot}.${i}`;
  setA = Array.from({ length: 100 }, (_, i) => host(20 + i));
  setB = Array.from({ length: 100 }, (_, i) => host(120 + i));
  const on = (ns: string, ips: string[]) =>
    ipBatch(
      ips.map((ip) => `addr add ${ip}/24 dev eth0`),
      ns,
    );
  const [b0, b1, b2, b3] = net.backends;
  await on(
    b0!.ns,
    setA.filter((_, i) => i % 2 === 0),
  );
  await on(
    b1!.ns,
    setA.filter((_, i) => i % 2 === 1),
  );
  await on(
    b2!.ns,
    setB.filter((_, i) => i % 2 === 0),
  );
  await on(
    b3!.ns,
    setB.filter((_, i) => i % 2 === 1),
  );
  await start();
});

after(async () => {
  if (skip) return;
  await syncer?.stop();
  await world?.destroy();
});

test(
  "farms sharing backend marks each reach only their own backends, with persistence (and with log: forward)",
  { skip },
  async () => {
    const [b0, b1, b2, b3] = net.backends;
    const pods = (bs: (typeof b0)[]) => bs.map((b) => ({ ip: b!.ip, pod: b!.name }));
    const cases = [
      { name: "pa", vip: net.vip(20), backends: [b0, b1], log: "none" },
      { name: "pb", vip: net.vip(21), backends: [b2, b3], log: "none" },
      { name: "fa", vip: net.vip(22), backends: [b0, b1], log: "forward" },
      { name: "fb", vip: net.vip(23), backends: [b2, b3], log: "forward" },
    ];
    for (const c of cases) {
      await core.createNamespacedService({
        namespace: NS,
        body: service(c.name, c.vip, { [`${PREFIX}persistence`]: "srcip", [`${PREFIX}log`]: c.log }),
      });
      await discovery.createNamespacedEndpointSlice({
        namespace: NS,
        body: slice(c.name, `${c.name}-1`, pods(c.backends)),
      });
    }
    const farms = await until("four farms", async () => {
      const fs = await Promise.all(cases.map((c) => farm(`${NS}.${c.name}.http`)));
      return fs.every((f) => live(f).length === 2);
    }).then(() => Promise.all(cases.map((c) => farm(`${NS}.${c.name}.http`))));
    for (const f of farms) {
      assert.deepEqual(
        live(f)
          .map((b) => b.mark)
          .sort(),
        [hex(2), hex(3)],
        `${f!.name}: backend marks from 0x002, the same in every farm`,
      );
    }
    const farmMarks = farms.map((f) => f!.mark);
    assert.equal(new Set(farmMarks).size, 4, `every farm its own farm mark: ${farmMarks.join(", ")}`);
    assert.ok(!farmMarks.includes("0x0"));
    for (const c of cases) {
      const got = await answering(net, c.vip, 80, 12);
      assert.ok(
        within(
          got,
          c.backends.map((b) => b!.name),
        ),
        `${c.name} (${c.log}) reached ${[...got].join(", ")}, not only its own`,
      );
      assert.equal(got.size, 1, `${c.name}: persistence srcip keeps one client on one backend`);
    }
    const rules = await net.ruleset();
    for (const c of cases)
      assert.ok(rules.includes(`chain nat-${NS}.${c.name}.http`), `${c.name} in the kernel`);
  },
);

test(
  "marks stay the same across a syncer restart, and the restarted syncer writes nothing",
  { skip },
  async () => {
    const marks = async () => {
      const all = await nftlb.listFarms();
      assert.ok(all.ok);
      return all.value.map(
        (f) =>
          `${f.name} ${f.mark} ${live(f)
            .map((b) => `${b.name}=${b.mark}`)
            .join(",")}`,
      );
    };
    const beforeRestart = await marks();
    await syncer!.stop();
    await start();
    assert.equal(syncer!.reconciler.stats.writes, 0, "an unchanged cluster is not written again");
    assert.deepEqual(await marks(), beforeRestart);
  },
);

test(
  "10,000 backends on one node (1,000 Services × 10): every farm in the kernel, sampled ones balancing, a Service programmed before never failing meanwhile",
  { skip },
  async () => {
    const [b0, b1, b2, b3] = net.backends.map((b) => b.name);
    const SVC = findResource("", "v1", "services")!;
    const SLICE = findResource("discovery.k8s.io", "v1", "endpointslices")!;
    const vip = (i: number) => `10.210.${Math.floor(i / 250)}.${(i % 250) + 1}`;
    // A Service programmed before: its traffic keeps flowing while the 1,000 are written.
    const steady = net.vip(30);
    await core.createNamespacedService({ namespace: NS, body: service("steady", steady) });
    await discovery.createNamespacedEndpointSlice({
      namespace: NS,
      body: slice(
        "steady",
        "steady-1",
        setB.slice(0, 2).map((ip) => ({ ip })),
      ),
    });
    await until("steady balances", async () => within(await answering(net, steady, 80, 4), [b2!, b3!]));
    // Seeded while the syncer is stopped, so that its start is a cold start of all 1,000.
    await syncer!.stop();
    for (let i = 0; i < 1000; i++) {
      const s = service(`s${i}`, vip(i));
      world.api.store.put(SVC, {
        ...s,
        metadata: { ...s.metadata, uid: `s${i}` },
        spec: { ...s.spec, clusterIPs: [vip(i)], type: "ClusterIP" },
      });
      world.api.store.put(
        SLICE,
        slice(
          `s${i}`,
          `s${i}-1`,
          setA.slice(0, 10).map((ip) => ({ ip })),
        ),
      );
    }
    const t0 = performance.now();
    const failures = await failuresWhile(net, steady, 80, start);
    console.log(
      `# cold start of 1,000 Services × 10 endpoints: programmed in ${Math.round(performance.now() - t0)} ms`,
    );
    assert.deepEqual(failures, [], "the Service programmed before answered every connection meanwhile");
    const all = await nftlb.listFarms();
    assert.ok(all.ok);
    const ours = all.value.filter((f) => /^default\.s\d+\.http$/.test(f.name));
    assert.equal(ours.length, 1000);
    assert.equal(
      ours.reduce((n, f) => n + live(f).length, 0),
      10_000,
    );
    const rules = await net.ruleset();
    const inKernel = [
      ...rules.matchAll(/chain nat-default\.s\d+\.http \{\n\t\t[^\n]*dnat ip to ct mark map \{([^}]*)\}/g),
    ];
    const missing = ours.filter((f) => !rules.includes(`chain nat-${f.name} {`)).map((f) => f.name);
    assert.deepEqual(missing, [], "every farm's chains are in the kernel");
    assert.equal(inKernel.length, 1000, "every farm's nat chain is in the kernel, with its map");
    assert.ok(
      inKernel.every((m) => m[1]!.split(",").length === 10),
      "with its 10 backends",
    );
    for (let i = 0; i < 1000; i += 111) {
      const got = await answering(net, vip(i), 80, 8);
      assert.ok(
        within(got, [b0!, b1!]) && got.size === 2,
        `s${i} balances over both backends: ${[...got].join(", ")}`,
      );
    }
  },
);
