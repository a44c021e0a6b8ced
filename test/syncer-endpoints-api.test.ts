// The syncer with `--endpoints-api endpoints` (clusters without EndpointSlices): the same
// Service → farm mapping from v1 Endpoints, end to end through the API stand-in, the real nftlb
// and real packets. Convergence times are printed, never asserted.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { CoreV1Api, KubeConfig } from "@kubernetes/client-node";
import { startApiServer, type ApiServer } from "../lab/apiserver/index.ts";
import { cannotBuildNetwork, createTestNetwork, type TestNetwork } from "../lab/net/index.ts";
import { createNftlbClient, type NftlbClient } from "../nftlb/index.ts";
import { createLogger } from "../runtime/index.ts";
import { startSyncer, type Syncer } from "../syncer/run.ts";
import { answering as answeringAt, sameSet, syncerConfig, until } from "./syncer-fixture.ts";

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

before(async () => {
  if (skip) return;
  net = await createTestNetwork({ backends: 2, ports: [8080] });
  vip = net.vip(10);
  api = await startApiServer({ serviceCidr: `${net.vip(0)}/24` });
  const kc = new KubeConfig();
  kc.loadFromFile(api.kubeconfigPath);
  core = kc.makeApiClient(CoreV1Api);
  nftlb = createNftlbClient({ url: net.nftlb.url, key: net.nftlb.key, timeoutMs: 10_000 });
  await core.createNode({
    body: { apiVersion: "v1", kind: "Node", metadata: { name: "node-1" }, status: { addresses: [] } },
  });
  syncer = await startSyncer(syncerConfig(net, api, { endpointsApi: "endpoints", nftlbProbeMs: 1000 }), {
    log: createLogger({ name: "syncer", level: "warn", secrets: () => [net.nftlb.key] }),
  });
  await syncer.started;
});

after(async () => {
  if (skip) return;
  await syncer?.stop();
  await api?.stop();
  await net?.destroy();
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
    const created = await until("only the ready b0 answers", async () => eq(await answering(), [b0]));
    console.log(`# create from v1 Endpoints: converged in ${Math.round(created)} ms`);

    await core.replaceNamespacedEndpoints({ name: "web", namespace: NS, body: endpoints([b0, b1]) });
    await until("both answer once b1 is ready", async () => eq(await answering(), [b0, b1]));

    await core.deleteNamespacedService({ name: "web", namespace: NS });
    await until("the farm is gone", async () => {
      const r = await nftlb.getFarm(`${NS}.web.http`);
      return r.ok && r.value === undefined;
    });
    assert.equal((await net.client.tcp(vip, 80, 500)).ok, false, "nothing answers at the ClusterIP");
  },
);
