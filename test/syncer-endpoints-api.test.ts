// The syncer with `--endpoints-api endpoints` (clusters without EndpointSlices): the same
// Service → farm mapping from v1 Endpoints, end to end through the API stand-in, the real nftlb
// and real packets. Convergence times are printed, never asserted.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import type { CoreV1Api } from "@kubernetes/client-node";
import type { ApiServer } from "../lab/apiserver/index.ts";
import { cannotBuildNetwork, type TestNetwork } from "../lab/net/index.ts";
import type { NftlbClient } from "../nftlb/index.ts";
import { startSyncer, type Syncer } from "../syncer/run.ts";
import {
  answering as answeringAt,
  sameSet,
  startWorld,
  syncerConfig,
  type SyncerWorld,
} from "./syncer-fixture.ts";
import { until, untilTimed } from "./until.ts";

const skip = cannotBuildNetwork();
const NS = "default";

let net: TestNetwork;
let api: ApiServer;
let core: CoreV1Api;
let nftlb: NftlbClient;
let syncer: Syncer | undefined;
let vip = "";

const answering = (n = 12) => answeringAt(net, vip, 80, n);
const eq = sameSet;

/** v1 Endpoints as the endpoints controller writes them: ready and not-ready addresses. */
const endpoints = (ready: string[], notReady: string[] = []) => {
  const address = (name: string) => ({
    ip: net.backends.find((b) => b.name === name)!.ip,
    targetRef: { kind: "Pod", name, namespace: NS },
  });
  return {
    apiVersion: "v1",
    kind: "Endpoints",
    metadata: { name: "web", namespace: NS },
    subsets: [
      {
        addresses: ready.map(address),
        ...(notReady.length > 0 ? { notReadyAddresses: notReady.map(address) } : {}),
        ports: [{ name: "http", port: 8080, protocol: "TCP" }],
      },
    ],
  };
};

let world: SyncerWorld | undefined;

before(async () => {
  if (skip) return;
  world = await startWorld({ backends: 2, port: 8080 });
  ({ net, api, core, nftlb } = world);
  vip = net.vip(10);
  syncer = await startSyncer(syncerConfig(net, api, { endpointsApi: "endpoints", nftlbProbeMs: 1000 }), {
    log: world.log,
  });
  await syncer.started;
});

after(async () => {
  if (skip) return;
  await syncer?.stop();
  await world?.destroy();
});

test(
  "v1 Endpoints: ready addresses are balanced, not-ready ones never answer, deletion removes the farm",
  { skip },
  async () => {
    const [b0, b1] = net.backends.map((b) => b.name) as [string, string];
    await core.createNamespacedService({
      namespace: NS,
      body: {
        apiVersion: "v1",
        kind: "Service",
        metadata: { name: "web", namespace: NS },
        spec: { clusterIP: vip, ports: [{ name: "http", port: 80, protocol: "TCP", targetPort: 8080 }] },
      },
    });
    await core.createNamespacedEndpoints({ namespace: NS, body: endpoints([b0], [b1]) });
    const created = await untilTimed("only the ready b0 answers", async () => eq(await answering(), [b0]));
    console.log(`# create from v1 Endpoints: converged in ${Math.round(created)} ms`);

    await core.replaceNamespacedEndpoints({ name: "web", namespace: NS, body: endpoints([b0, b1]) });
    await until("both answer once b1 is ready", async () => eq(await answering(), [b0, b1]));

    await core.deleteNamespacedService({ name: "web", namespace: NS });
    await until("the farm is gone", async () => {
      const r = await nftlb.getFarm(`${NS}.web.http`);
      return r.ok && r.value === undefined;
    });
    assert.equal(
      (await net.client.tcp(vip, 80, { timeoutMs: 500 })).ok,
      false,
      "nothing answers at the ClusterIP",
    );
  },
);
