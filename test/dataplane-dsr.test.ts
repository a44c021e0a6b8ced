// dsr end to end: a Service annotated for dsr and its EndpointSlice → syncer/desired → syncer/plan
// → the nftlb client → the real nftlb, proven with TCP from a client namespace. The farm shape is
// the one desired makes (iface + ether-addr on each address, oface on the farm, backends port ""),
// nothing built by hand; and once applied, nftlb's own GET plans to nothing (no perpetual diff,
// although GET never shows iface/ether-addr).
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { cannotBuildNetwork, createTestNetwork, tally, type TestNetwork } from "../lab/net/index.ts";
import { createNftlbClient, type NftlbClient } from "../nftlb/index.ts";
import type { Farm } from "../nftlb/types.ts";
import { desired, type DesiredOptions } from "../syncer/desired.ts";
import { isEmpty, operations, plan } from "../syncer/plan.ts";
import { sendOperation } from "../syncer/plan-send.test-helpers.ts";
import { until } from "./until.ts";

const PREFIX = "service.kubernetes.io/kube-nftlb-load-balancer-";
const PORT = 8080;
const skip = cannotBuildNetwork();
let net: TestNetwork | undefined;
let client: NftlbClient;
let nic: DesiredOptions;

before(async () => {
  if (skip) return;
  net = await createTestNetwork({ backends: 3, ports: [PORT] });
  client = createNftlbClient({ url: net.nftlb.url, key: net.nftlb.key, timeoutMs: 10_000 });
  nic = {
    iface: net.node.clientIface,
    ifaceMac: await net.node.mac(net.node.clientIface),
    oface: net.node.backendIface(net.backends[0]!.name),
  };
});
after(async () => net?.destroy());

// Each test owns only its farm: the other test's farm stays where it is.
const ownsOnly = (farms: Farm[]) => ({ owns: (name: string) => farms.some((f) => f.name === name) });

const service = (name: string, vip: string, annotations: Record<string, string>) => ({
  apiVersion: "v1",
  kind: "Service",
  metadata: { name, namespace: "default", annotations: { [PREFIX + "mode"]: "dsr", ...annotations } },
  spec: {
    type: "ClusterIP",
    clusterIP: vip,
    clusterIPs: [vip],
    ports: [{ name: "http", port: PORT, targetPort: PORT, protocol: "TCP" }],
  },
});

/** The EndpointSlice the cluster would hold: every test backend ready, on the Service port. */
const sliceOf = (name: string) => ({
  apiVersion: "discovery.k8s.io/v1",
  kind: "EndpointSlice",
  metadata: { name: `${name}-1`, namespace: "default", labels: { "kubernetes.io/service-name": name } },
  addressType: "IPv4",
  ports: [{ name: "http", port: PORT, protocol: "TCP" }],
  endpoints: net!.backends.map((b) => ({
    addresses: [b.ip],
    conditions: { ready: true },
    targetRef: { kind: "Pod", name: b.name, namespace: "default" },
  })),
});

const desiredFarms = (name: string, vip: string, annotations: Record<string, string>): Farm[] => {
  const r = desired(service(name, vip, annotations), [sliceOf(name)], { name: "node", addresses: [] }, nic);
  assert.deepEqual(
    r.problems.filter((p) => p.severity === "error"),
    [],
  );
  assert.equal(r.farms.length, 1);
  assert.equal(r.farms[0]!.mode, "dsr");
  return r.farms;
};

/** Plans against what nftlb has now and applies every operation; returns how many there were. */
const converge = async (farms: Farm[]): Promise<number> => {
  const actual = await client.listFarms();
  assert.ok(actual.ok, JSON.stringify(actual));
  const ops = operations(plan(farms, actual.value, ownsOnly(farms)));
  for (const op of ops) {
    const res = await sendOperation(client, op);
    assert.ok(res.ok, `${JSON.stringify(op).slice(0, 300)}: ${JSON.stringify(res)}`);
  }
  return ops.length;
};

/** Polls until the node's ruleset has the farm's chain with every backend MAC known. */
const macsKnown = (farm: string): Promise<string> => {
  let rules = "";
  return until(
    `the backend MACs of ${farm}`,
    async () => {
      rules = await net!.ruleset();
      return rules.includes(`chain ${farm}`) && !rules.includes("00:00:00:00:00:00") ? rules : undefined;
    },
    { timeoutMs: 5000, intervalMs: 50, detail: () => `ruleset:\n${rules}` },
  );
};

/** desired → nftlb, the VIP on the backends' loopback, neighbours learnt; then the plan is empty. */
const deploy = async (name: string, vip: string, annotations: Record<string, string>) => {
  const farms = desiredFarms(name, vip, annotations);
  assert.equal(await converge(farms), 1, "one POST creates the farm");
  for (const b of net!.backends) await b.holdVip(vip);
  await net!.learnNeighbours();
  const rules = await macsKnown(farms[0]!.name);
  const got = await client.getFarm(farms[0]!.name);
  assert.ok(got.ok && got.value?.state === "up", `farm up: ${JSON.stringify(got)}`);
  const actual = await client.listFarms();
  assert.ok(actual.ok);
  assert.ok(isEmpty(plan(farms, actual.value, ownsOnly(farms))), "nftlb's own GET plans to nothing");
  assert.equal(await converge(farms), 0, "a second apply sends nothing");
  return { farms, rules };
};

const names = () => net!.backends.map((b) => b.name);

test("a dsr Service from desired carries TCP: answered by its backends, no failed connection", async (t) => {
  if (skip) return t.skip(skip);
  const vip = net!.vip(30);
  const { rules } = await deploy("dsr", vip, { [PREFIX + "scheduler"]: "hash-srcip-srcport" });
  // dsr: frames are forwarded at the ingress hook to the backend's MAC, not NATed.
  assert.match(rules, /ether daddr set/);
  const counts = tally(await net!.client.many("tcp", vip, PORT, 15));
  assert.equal(counts["(failed)"], undefined, JSON.stringify(counts));
  assert.ok(
    Object.keys(counts).every((n) => names().includes(n)),
    `only the Service's backends answer: ${JSON.stringify(counts)}`,
  );
  assert.ok(Object.keys(counts).length > 1, `the flow hash spreads connections: ${JSON.stringify(counts)}`);
});

test("a dsr Service with persistence srcip: every connection of one client sticks to one backend", async (t) => {
  if (skip) return t.skip(skip);
  const vip = net!.vip(31);
  const { rules } = await deploy("dsrsticky", vip, {
    [PREFIX + "scheduler"]: "hash-srcip-srcport",
    [PREFIX + "persistence"]: "srcip",
  });
  assert.match(rules, /map persist-default\.dsrsticky\.http/);
  const counts = tally(await net!.client.many("tcp", vip, PORT, 12));
  assert.equal(counts["(failed)"], undefined, JSON.stringify(counts));
  assert.equal(Object.keys(counts).length, 1, `one backend for one client: ${JSON.stringify(counts)}`);
  assert.ok(names().includes(Object.keys(counts)[0]!), JSON.stringify(counts));
});
