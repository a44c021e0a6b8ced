// The EndpointSlice controller loop against the API stand-in (no root needed): Pods whose status
// this test writes as a kubelet would, a Service, and the slices the controller keeps.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { startApiServer, type ApiServer } from "../apiserver/index.ts";
import { apiClient, MERGE_PATCH, type ApiClient } from "../cluster/api-client.ts";
import { storeSource } from "../cluster/sources.ts";
import {
  startEndpointSliceController,
  type EndpointSliceController,
  type Source,
} from "./endpointslice-controller.ts";
import type { SliceObject } from "./endpointslice-sync.ts";
import { findResource } from "../apiserver/resources.ts";
import { until as waitFor } from "../../test/until.ts";

interface Slice {
  metadata: { name: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  endpoints?: {
    addresses: string[];
    conditions: { ready: boolean; terminating: boolean };
    targetRef: { name: string };
  }[];
}

describe("EndpointSlice controller against the API stand-in", () => {
  let api: ApiServer;
  let client: ApiClient;
  let controller: EndpointSliceController;
  const logs: string[] = [];
  const must = async (method: string, path: string, body?: unknown, type?: string) => {
    const r = await client.request(method, path, body, type);
    if (!r.ok) throw new Error(r.error);
    return r.body;
  };
  const pod = async (name: string, ip: string, ready: boolean) => {
    await must("POST", "/api/v1/namespaces/default/pods", {
      apiVersion: "v1",
      kind: "Pod",
      metadata: { name, labels: { app: "web" } },
      spec: {
        nodeName: "n1",
        containers: [{ name: "c", image: "x", ports: [{ name: "http", containerPort: 8080 }] }],
      },
    });
    await setReady(name, ip, ready);
  };
  const setReady = (name: string, ip: string, ready: boolean) =>
    must(
      "PATCH",
      `/api/v1/namespaces/default/pods/${name}/status`,
      {
        status: {
          phase: "Running",
          podIP: ip,
          podIPs: [{ ip }],
          conditions: [{ type: "Ready", status: ready ? "True" : "False" }],
        },
      },
      MERGE_PATCH,
    );
  const slices = async () =>
    ((await must("GET", "/apis/discovery.k8s.io/v1/namespaces/default/endpointslices")) as { items: Slice[] })
      .items;
  const until = <T>(what: string, f: () => Promise<T | undefined>) =>
    waitFor(what, f, { timeoutMs: 10_000, intervalMs: 20, detail: () => `log: ${logs.join("; ")}` });

  before(async () => {
    api = await startApiServer();
    client = apiClient({ url: api.url, token: api.token, ca: api.ca.cert });
    controller = startEndpointSliceController({
      services: storeSource(api.store, "", "services"),
      pods: storeSource(api.store, "", "pods"),
      slices: storeSource(api.store, "discovery.k8s.io", "endpointslices"),
      api: client,
      log: (l) => logs.push(l),
    });
  });
  after(async () => {
    controller?.stop();
    await api?.stop();
  });

  it("writes the slice of a selector Service, and follows readiness", async () => {
    await pod("web-0", "10.0.0.10", true);
    await pod("web-1", "10.0.0.11", false);
    await must("POST", "/api/v1/namespaces/default/services", {
      apiVersion: "v1",
      kind: "Service",
      metadata: { name: "web" },
      spec: { selector: { app: "web" }, ports: [{ name: "http", port: 80, targetPort: "http" }] },
    });
    const first = await until("a slice with two endpoints", async () => {
      const s = await slices();
      return s.length === 1 && s[0]?.endpoints?.length === 2 ? s[0] : undefined;
    });
    assert.equal(first.metadata.labels?.["kubernetes.io/service-name"], "web");
    const ready = (s: Slice) =>
      Object.fromEntries((s.endpoints ?? []).map((e) => [e.targetRef.name, e.conditions.ready]));
    assert.deepEqual(ready(first), { "web-0": true, "web-1": false });
    const triggerBefore =
      first.metadata.annotations?.["endpoints.kubernetes.io/last-change-trigger-time"] ?? "";

    await setReady("web-1", "10.0.0.11", true);
    const second = await until("web-1 ready in the slice", async () => {
      const s = (await slices())[0];
      return s && ready(s)["web-1"] === true ? s : undefined;
    });
    assert.equal(second.metadata.name, first.metadata.name, "updated in place, not re-created");
    assert.ok(
      Date.parse(second.metadata.annotations?.["endpoints.kubernetes.io/last-change-trigger-time"] ?? "") >=
        Date.parse(triggerBefore),
    );
  });

  it("a slice edited by someone else is put back", async () => {
    const [s] = await slices();
    await must(
      "PATCH",
      `/apis/discovery.k8s.io/v1/namespaces/default/endpointslices/${s!.metadata.name}`,
      { endpoints: [] },
      MERGE_PATCH,
    );
    await until("the slice restored", async () =>
      (await slices())[0]?.endpoints?.length === 2 ? true : undefined,
    );
  });

  it("a deleted Service loses its slices (the stand-in has no garbage collector)", async () => {
    await must("DELETE", "/api/v1/namespaces/default/services/web");
    await until("no slices", async () => ((await slices()).length === 0 ? true : undefined));
  });
});

describe("EndpointSlice controller at scale", () => {
  it("reconciling a Service reads its own slices, not a copy of every slice in the namespace", async () => {
    // The real controller reads its informers' indexed caches; the lab's ran, for every Service
    // change, over a deep copy of every slice of the namespace (1,000 Services × 10 endpoints:
    // ~36 ms of each Service's create, in the stand-in's request path).
    const api = await startApiServer();
    const client = apiClient({ url: api.url, token: api.token, ca: api.ca.cert });
    const SLICES = findResource("discovery.k8s.io", "v1", "endpointslices")!;
    for (let i = 0; i < 50; i++)
      api.store.put(SLICES, {
        apiVersion: "discovery.k8s.io/v1",
        kind: "EndpointSlice",
        metadata: {
          name: `other-${i}`,
          namespace: "default",
          labels: {
            "kubernetes.io/service-name": `other-${i}`,
            "endpointslice.kubernetes.io/managed-by": "someone",
          },
        },
        addressType: "IPv4",
        endpoints: [],
      });
    const real = storeSource<SliceObject>(api.store, "discovery.k8s.io", "endpointslices");
    let read = 0;
    const counted: Source<SliceObject> = {
      ...real,
      list: (...args) => {
        const got = real.list(...args);
        read += got.length;
        return got;
      },
    };
    const logs: string[] = [];
    const controller = startEndpointSliceController({
      services: storeSource(api.store, "", "services"),
      pods: storeSource(api.store, "", "pods"),
      slices: counted,
      api: client,
      log: (l) => logs.push(l),
    });
    try {
      const r = await client.request("POST", "/api/v1/namespaces/default/services", {
        apiVersion: "v1",
        kind: "Service",
        metadata: { name: "lone" },
        spec: { selector: { app: "lone" }, ports: [{ name: "http", port: 80 }] },
      });
      assert.ok(r.ok, r.ok ? "" : r.error);
      await waitFor("the placeholder slice of lone", () =>
        api.store
          .list(SLICES, "default")
          .some((s) => s.metadata.labels?.["kubernetes.io/service-name"] === "lone"),
      );
      await controller.idle();
      assert.ok(read <= 2, `the controller read ${read} slices to reconcile one Service with at most one`);
    } finally {
      controller.stop();
      await api.stop();
    }
  });
});
