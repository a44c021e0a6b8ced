// listAllPages against the lab API stand-in over real HTTP (client-node), with tiny pages.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { DiscoveryV1Api, KubeConfig } from "@kubernetes/client-node";
import { startApiServer } from "../lab/apiserver/index.ts";
import { findResource } from "../lab/apiserver/resources.ts";
import { listAllPages } from "../kube/sources.ts";

const SLICE = findResource("discovery.k8s.io", "v1", "endpointslices")!;
const api = await startApiServer();
after(() => api.stop());
const kc = new KubeConfig();
kc.loadFromFile(api.kubeconfigPath);
const discovery = kc.makeApiClient(DiscoveryV1Api);
const slice = (name: string) => ({
  apiVersion: "discovery.k8s.io/v1",
  kind: "EndpointSlice",
  metadata: { name, namespace: "ns", labels: { "kubernetes.io/service-name": "s" } },
  addressType: "IPv4",
  endpoints: [],
});
for (let i = 0; i < 7; i++) api.store.put(SLICE, slice(`e${i}`));

test("every page is fetched into one list with the first page's resourceVersion and no continue", async () => {
  const pages: { limit: number; _continue?: string }[] = [];
  const whole = await discovery.listEndpointSliceForAllNamespaces({});
  const paged = await listAllPages((p) => {
    pages.push(p);
    return discovery.listEndpointSliceForAllNamespaces(p);
  }, 3);
  assert.equal(pages.length, 3, "7 objects in pages of 3");
  assert.deepEqual(
    paged.items.map((o) => o.metadata?.name),
    whole.items.map((o) => o.metadata?.name),
  );
  assert.equal(paged.metadata?.resourceVersion, whole.metadata?.resourceVersion);
  assert.equal(paged.metadata?._continue, undefined);
});

test("a list that fits one page is one request", async () => {
  let calls = 0;
  const paged = await listAllPages((p) => {
    calls++;
    return discovery.listEndpointSliceForAllNamespaces(p);
  }, 100);
  assert.equal(calls, 1);
  assert.equal(paged.items.length, 7);
});

test("a failing page fails the whole list (the informer lists again from the start)", async () => {
  let calls = 0;
  await assert.rejects(
    listAllPages((p) => {
      calls++;
      // The stand-in answers a garbage continue token with 400, as kube-apiserver does.
      return discovery.listEndpointSliceForAllNamespaces(calls === 2 ? { ...p, _continue: "garbage" } : p);
    }, 3),
    /400|continue/,
  );
  assert.equal(calls, 2);
});
