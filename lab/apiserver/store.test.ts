// The store's one promise the rest of the stand-in relies on: no caller ever holds a stored
// object, so nothing a caller does to an object it passed in or got back changes what is stored
// (kube-apiserver's objects live in etcd, out of every client's reach).
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { findResource } from "./resources.ts";
import { Store, type Obj } from "./store.ts";

const CM = findResource("", "v1", "configmaps")!;
const cm = (data: string): Obj => ({
  apiVersion: "v1",
  kind: "ConfigMap",
  metadata: { name: "a", namespace: "default", labels: { app: "x" } },
  data: { k: data },
});
const stored = (s: Store) => s.get(CM, "default", "a");

describe("Store copies", () => {
  it("keeps its own copy of what is put, and hands back another", () => {
    const s = new Store();
    const sent = cm("1");
    const back = s.put(CM, sent);
    (sent.data as Record<string, string>).k = "changed by the writer";
    sent.metadata.labels!.app = "changed";
    (back.data as Record<string, string>).k = "changed by the reader";
    assert.deepEqual(stored(s)?.data, { k: "1" });
    assert.deepEqual(stored(s)?.metadata.labels, { app: "x" });
    assert.equal(back.metadata.resourceVersion, stored(s)?.metadata.resourceVersion);
  });

  it("an object handed over is stored as it is, and what comes back is still a copy", () => {
    const s = new Store();
    const back = s.put(CM, cm("1"), { handedOver: true });
    (back.data as Record<string, string>).k = "changed by the reader";
    back.metadata.labels!.app = "changed";
    assert.deepEqual(stored(s)?.data, { k: "1" });
    assert.deepEqual(stored(s)?.metadata.labels, { app: "x" });
  });

  it("get, list, remove and the events' history hand out copies", () => {
    const s = new Store();
    s.put(CM, cm("1"));
    const rv = s.revision;
    for (const got of [stored(s)!, s.list(CM, "default")[0]!, s.listAt(CM, "default", rv)![0]!])
      (got.data as Record<string, string>).k = "changed by the reader";
    assert.deepEqual(stored(s)?.data, { k: "1" });
    s.put(CM, cm("2"));
    assert.deepEqual(s.listAt(CM, "default", rv)?.[0]?.data, { k: "1" }, "the version at rv, as it was");
    const gone = s.remove(CM, "default", "a")!;
    (gone.data as Record<string, string>).k = "changed by the reader";
    assert.deepEqual(s.listAt(CM, "default", s.revision - 1)?.[0]?.data, { k: "2" });
  });

  it("look reads a stored object without copying it, and says when there is none", () => {
    const s = new Store();
    assert.equal(
      s.look(CM, "default", "a", () => true),
      undefined,
    );
    s.put(CM, cm("1"));
    assert.equal(
      s.look(CM, "default", "a", (o) => (o.data as Record<string, string>).k),
      "1",
    );
  });
});
