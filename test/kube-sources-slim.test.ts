// The syncer's informers store slim objects (kube/slim.ts), whichever way an object arrives: in the
// first LIST, in a watch event (ADDED, MODIFIED, DELETED), and in the LIST after a 410. Against
// the lab API stand-in over real HTTP with client-node, so the resourceVersion bookkeeping of
// client-node's ListWatch is the real one.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { KubeConfig, type V1EndpointSlice } from "@kubernetes/client-node";
import { startApiServer } from "../lab/apiserver/index.ts";
import { findResource } from "../lab/apiserver/resources.ts";
import { makeSources } from "../kube/sources.ts";
import { LAST_APPLIED_ANNOTATION } from "../kube/slim.ts";
import { until } from "./until.ts";

const SVC = findResource("", "v1", "services")!;
const SLICE = findResource("discovery.k8s.io", "v1", "endpointslices")!;
const api = await startApiServer();
const kc = new KubeConfig();
kc.loadFromFile(api.kubeconfigPath);
const sources = makeSources({ kc, nodeName: "n1", endpointsApi: "slices", resyncMs: 0 });
after(async () => {
  await sources.services.stop();
  await sources.endpoints.stop();
  await api.stop();
});

const managedFields = [{ manager: "kubectl", operation: "Update", fieldsType: "FieldsV1", fieldsV1: {} }];
const OURS = "service.kubernetes.io/kube-nftlb-load-balancer-scheduler";
const service = {
  apiVersion: "v1",
  kind: "Service",
  metadata: {
    name: "web",
    namespace: "ns",
    uid: "u-1",
    managedFields,
    annotations: { [OURS]: "symhash", [LAST_APPLIED_ANNOTATION]: "{}" },
  },
  spec: { clusterIP: "10.96.0.10", ports: [{ name: "http", port: 80, protocol: "TCP" }] },
};
const slice = (ips: string[]) => ({
  apiVersion: "discovery.k8s.io/v1",
  kind: "EndpointSlice",
  metadata: {
    name: "web-1",
    namespace: "ns",
    labels: { "kubernetes.io/service-name": "web" },
    managedFields,
  },
  addressType: "IPv4",
  endpoints: ips.map((ip, i) => ({
    addresses: [ip],
    conditions: { ready: true },
    zone: "z",
    targetRef: { kind: "Pod", name: `web-${i}`, namespace: "ns", uid: `pod-uid-${i}` },
  })),
  ports: [{ name: "http", port: 8080, protocol: "TCP" }],
});

const cachedSlice = () => sources.endpoints.byIndex("ns/web")[0] as V1EndpointSlice | undefined;
const ips = () => (cachedSlice()?.endpoints ?? []).map((e) => e.addresses[0]);
const storedVersion = (res: typeof SLICE, name: string) =>
  api.store.get(res, "ns", name)?.metadata.resourceVersion;

/** What the syncer never reads is not in the cache; what it reads is. */
function assertSlim(s: V1EndpointSlice | undefined) {
  const text = JSON.stringify(s);
  assert.ok(s !== undefined);
  assert.equal(text.includes("managedFields"), false, text);
  assert.equal(text.includes("pod-uid"), false, text);
  assert.equal(text.includes('"zone"'), false, text);
  assert.equal(s.metadata?.resourceVersion, storedVersion(SLICE, "web-1"));
  const endpoints = s.endpoints ?? [];
  assert.deepEqual(
    endpoints.map((e) => e.targetRef?.name),
    endpoints.map((_, i) => `web-${i}`),
  );
}

test("LIST, watch events and the relist after a 410 all store slim objects", async () => {
  api.store.put(SVC, service);
  api.store.put(SLICE, slice(["10.0.0.1"]));
  sources.services.start();
  sources.endpoints.start();
  await Promise.all([sources.services.whenSynced(), sources.endpoints.whenSynced()]);

  // From the LIST.
  const svc = sources.services.get("web", "ns");
  assert.equal(JSON.stringify(svc).includes("managedFields"), false);
  assert.deepEqual(svc?.metadata?.annotations, { [OURS]: "symhash" });
  assert.equal(svc?.metadata?.uid, "u-1");
  assert.equal(svc?.metadata?.resourceVersion, storedVersion(SVC, "web"));
  assertSlim(cachedSlice());

  // A MODIFIED event.
  api.store.put(SLICE, slice(["10.0.0.1", "10.0.0.2"]));
  await until("the watched change in the cache", () => ips().length === 2, { timeoutMs: 10_000 });
  assertSlim(cachedSlice());

  // Compaction: the watch resumes from the slim object's resourceVersion, gets 410, lists again.
  api.faults.expireWatches();
  api.store.put(SLICE, slice(["10.0.0.3"]));
  await until("the change seen after the 410", () => ips().join() === "10.0.0.3", { timeoutMs: 20_000 });
  assertSlim(cachedSlice());

  // A DELETED event.
  api.store.remove(SLICE, "ns", "web-1");
  await until("the slice gone", () => cachedSlice() === undefined, { timeoutMs: 10_000 });
});
