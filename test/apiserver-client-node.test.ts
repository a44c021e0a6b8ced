// @kubernetes/client-node 2.x against the lab API server: typed list, Watch, and makeInformer
// through a forced 410 (compaction) and a dropped connection, ending with the server's state.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { CoreV1Api, KubeConfig, makeInformer, Watch, type V1Service } from "@kubernetes/client-node";
import { startApiServer, type ApiServer } from "../lab/apiserver/index.ts";
import { until } from "./until.ts";

let api: ApiServer;
let kc: KubeConfig;
let core: CoreV1Api;
const lines: string[] = [];
before(async () => {
  api = await startApiServer({ log: (l) => lines.push(l) });
  kc = new KubeConfig();
  kc.loadFromFile(api.kubeconfigPath);
  core = kc.makeApiClient(CoreV1Api);
  await core.createNamespace({ body: { metadata: { name: "informer" } } });
});
after(async () => api.stop());

const service = (name: string, port = 80): V1Service => ({
  metadata: { name, labels: { app: name } },
  spec: { ports: [{ port }] },
});

describe("@kubernetes/client-node", () => {
  it("creates and lists typed objects, with the list's resourceVersion", async () => {
    const made = await core.createNamespacedService({ namespace: "default", body: service("typed") });
    assert.equal(made.spec?.clusterIP, "10.96.0.1");
    const list = await core.listNamespacedService({ namespace: "default" });
    assert.deepEqual(
      list.items.map((s) => s.metadata?.name),
      ["typed"],
    );
    assert.match(list.metadata?.resourceVersion ?? "", /^\d+$/);
  });

  it("maps a Status error to an ApiException with the code", async () => {
    await assert.rejects(
      core.readNamespacedService({ namespace: "default", name: "missing" }),
      (e: { code?: number; body?: string }) => {
        assert.equal(e.code, 404);
        assert.match(String(e.body), /services \\?"missing\\?" not found/);
        return true;
      },
    );
  });

  it("watches from a list's resourceVersion and sees ADDED, MODIFIED, DELETED in order", async () => {
    const list = await core.listNamespacedService({ namespace: "default" });
    const seen: string[] = [];
    const w = new Watch(kc);
    const req = await w.watch(
      "/api/v1/namespaces/default/services",
      { resourceVersion: list.metadata?.resourceVersion },
      (phase, obj: V1Service) => seen.push(`${phase} ${obj.metadata?.name ?? ""}`),
      () => undefined,
    );
    await core.createNamespacedService({ namespace: "default", body: service("w1") });
    await core.patchNamespacedService({
      namespace: "default",
      name: "w1",
      body: [{ op: "add", path: "/metadata/labels/x", value: "y" }],
    });
    await core.deleteNamespacedService({ namespace: "default", name: "w1" });
    await until("three events", () => seen.length >= 3);
    req.abort();
    await until("the watch to close", () => api.faults.openWatches === 0);
    assert.deepEqual(seen, ["ADDED w1", "MODIFIED w1", "DELETED w1"]);
  });

  it("keeps an informer's cache right through a forced 410 and a dropped connection", async (t) => {
    for (const n of ["a", "b", "c"])
      await core.createNamespacedService({ namespace: "informer", body: service(n) });
    const informer = makeInformer(kc, "/api/v1/namespaces/informer/services", () =>
      core.listNamespacedService({ namespace: "informer" }),
    );
    const errors: unknown[] = [];
    // client-node stops an informer on any error but a 410 or a timeout: restart it, as the syncer must
    let stopped = false;
    informer.on("error", (err) => {
      errors.push(err);
      setTimeout(() => {
        if (!stopped) void informer.start();
      }, 50);
    });
    const names = () =>
      informer
        .list("informer")
        .map((s) => `${s.metadata?.name ?? ""}:${s.spec?.ports?.[0]?.port ?? ""}`)
        .sort()
        .join(",");
    await informer.start();
    t.after(async () => {
      stopped = true;
      await informer.stop();
    });
    await until("initial sync", () => names() === "a:80,b:80,c:80");

    await until("the informer's watch", () => api.faults.openWatches === 1);
    const listsBefore = lines.filter((l) => l.startsWith("GET /api/v1/namespaces/informer/services ")).length;
    assert.equal(api.faults.expireWatches(), 1, "one informer watch was open");
    await core.deleteNamespacedService({ namespace: "informer", name: "a" });
    await core.patchNamespacedService({
      namespace: "informer",
      name: "b",
      body: [{ op: "replace", path: "/spec/ports/0/port", value: 8080 }],
    });
    await core.createNamespacedService({ namespace: "informer", body: service("d") });
    await until("cache after 410", () => names() === "b:8080,c:80,d:80");
    await until(
      "a relist",
      () =>
        lines.filter((l) => l.startsWith("GET /api/v1/namespaces/informer/services ")).length > listsBefore,
    );
    assert.ok(lines.some((l) => /services\?.*watch=true.* 200 /.test(l)));

    await until("the informer to watch again", () => api.faults.openWatches === 1);
    assert.equal(api.faults.dropWatches(), 1);
    await core.deleteNamespacedService({ namespace: "informer", name: "c" });
    await core.createNamespacedService({ namespace: "informer", body: service("e") });
    await until("cache after the drop", () => names() === "b:8080,d:80,e:80");
  });
});
