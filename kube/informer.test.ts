import { test } from "node:test";
import assert from "node:assert/strict";
import { SupervisedInformer, type KubeObject, type ListWatchLike } from "./informer.ts";
import { FakeTimers, settle } from "./fake-timers.ts";

type Obj = KubeObject & { metadata: { name: string; namespace: string; resourceVersion: string } };

/**
 * A fake API server plus ListWatches that behave like client-node 2.0.1's: a failed list fires
 * 'error' and start() still resolves; a broken watch fires 'error' and stops; stop() fires an
 * AbortError; a relist emits add/update/delete against the ListWatch's own cache.
 */
class FakeApi {
  objects = new Map<string, Obj>();
  rv = 0;
  listFailures = 0;
  watchers = new Set<FakeListWatch>();
  deaf = false;
  listCalls = 0;

  put(ns: string, name: string, labels: Record<string, string> = {}): Obj {
    const obj: Obj = { metadata: { name, namespace: ns, resourceVersion: String(++this.rv), labels } };
    const existed = this.objects.has(`${ns}/${name}`);
    this.objects.set(`${ns}/${name}`, obj);
    if (!this.deaf) for (const w of this.watchers) w.deliver(existed ? "update" : "add", obj);
    return obj;
  }

  remove(ns: string, name: string): void {
    const obj = this.objects.get(`${ns}/${name}`);
    if (obj === undefined) return;
    this.objects.delete(`${ns}/${name}`);
    if (!this.deaf) for (const w of this.watchers) w.deliver("delete", obj);
  }

  /** Every watch ends with an error (a 500 on reconnect, ECONNRESET…): ListWatch stops. */
  breakWatches(): void {
    for (const w of [...this.watchers])
      w.fail(Object.assign(new Error("Internal Server Error"), { statusCode: 500 }));
  }
}

class FakeListWatch implements ListWatchLike<Obj> {
  cache = new Map<string, Obj>();
  rv = "";
  cbs: Record<string, ((x: never) => void)[]> = { add: [], update: [], delete: [], error: [] };
  readonly api: FakeApi;
  constructor(api: FakeApi) {
    this.api = api;
  }

  on(verb: string, cb: (x: never) => void): void {
    this.cbs[verb]?.push(cb);
  }
  #fire(verb: string, x: unknown): void {
    for (const cb of this.cbs[verb] ?? []) cb(x as never);
  }
  start(): Promise<void> {
    if (this.rv === "") {
      this.api.listCalls++;
      if (this.api.listFailures > 0) {
        this.api.listFailures--;
        this.#fire("error", Object.assign(new Error("Too Many Requests"), { statusCode: 429 }));
        return Promise.resolve();
      }
      const fresh = new Map(this.api.objects);
      for (const [k, o] of this.cache) {
        if (fresh.has(k)) continue;
        this.cache.delete(k);
        this.#fire("delete", o);
      }
      for (const [k, o] of fresh) {
        const had = this.cache.get(k);
        this.cache.set(k, o);
        if (had === undefined) this.#fire("add", o);
        else if (had.metadata.resourceVersion !== o.metadata.resourceVersion) this.#fire("update", o);
      }
      this.rv = String(this.api.rv);
    }
    this.api.watchers.add(this);
    return Promise.resolve();
  }
  stop(): Promise<void> {
    if (this.api.watchers.delete(this)) this.#fire("error", new DOMException("aborted", "AbortError"));
    return Promise.resolve();
  }
  deliver(kind: "add" | "update" | "delete", obj: Obj): void {
    const k = `${obj.metadata.namespace}/${obj.metadata.name}`;
    if (kind === "delete") this.cache.delete(k);
    else this.cache.set(k, obj);
    this.#fire(kind, obj);
  }
  fail(err: Error): void {
    this.api.watchers.delete(this);
    this.#fire("error", err);
  }
  list(): readonly Obj[] {
    return [...this.cache.values()];
  }
  get(name: string, ns?: string): Obj | undefined {
    return this.cache.get(`${ns ?? ""}/${name}`);
  }
}

function setup(resyncMs = 60_000) {
  const api = new FakeApi();
  const timers = new FakeTimers();
  const inf = new SupervisedInformer<Obj>({
    name: "test",
    makeListWatch: () => new FakeListWatch(api),
    timers,
    resyncMs,
    restartBaseMs: 100,
    restartCapMs: 1_000,
    indexBy: (o) => (o.metadata.labels?.svc ? `${o.metadata.namespace}/${o.metadata.labels.svc}` : undefined),
  });
  const seen: string[] = [];
  inf.onChange((o, kind) => seen.push(`${kind} ${o.metadata.name}`));
  return { api, timers, inf, seen };
}

test("a failed first list is not 'synced'; the informer restarts with backoff until it lists", async () => {
  const { api, timers, inf } = setup();
  api.put("ns", "a");
  api.listFailures = 3;
  inf.start();
  await settle();
  assert.equal(inf.synced, false, "start() resolving after a failed list is not a sync");
  let synced = false;
  void inf.whenSynced().then(() => (synced = true));
  await timers.advance(5_000);
  assert.equal(inf.synced, true);
  assert.equal(synced, true);
  assert.equal(api.listCalls, 4);
  assert.equal(inf.stats.restarts, 3);
  assert.deepEqual(
    inf.list().map((o) => o.metadata?.name),
    ["a"],
  );
  await inf.stop();
});

test("restart delays grow exponentially with jitter and are capped", async () => {
  const { api, timers, inf } = setup(0);
  api.listFailures = 10;
  inf.start();
  const delays: number[] = [];
  for (let i = 0; i < 6; i++) {
    await settle();
    const d = timers.delays();
    assert.equal(d.length, 1, "one restart pending at a time");
    delays.push(d[0] ?? -1);
    await timers.advance(d[0] ?? 0);
  }
  const nominal = [100, 200, 400, 800, 1000, 1000];
  delays.forEach((d, i) =>
    assert.ok(Math.abs(d - nominal[i]!) <= nominal[i]! * 0.2 + 1, `${d} ≈ ${nominal[i]}`),
  );
  await inf.stop();
});

test("a watch that errors (the library stops) is restarted and events flow again", async () => {
  const { api, timers, inf, seen } = setup();
  inf.start();
  await inf.whenSynced();
  api.breakWatches();
  api.put("ns", "missed-while-down");
  assert.equal(api.watchers.size, 0, "the library stopped");
  await timers.advance(200);
  assert.equal(inf.stats.restarts, 1);
  api.put("ns", "after");
  assert.ok(seen.includes("add after"), seen.join());
  await inf.stop();
});

test("a silently dead watch is caught by the periodic relist: adds, updates and deletes", async () => {
  const { api, timers, inf, seen } = setup(10_000);
  api.put("ns", "stays");
  api.put("ns", "changes");
  api.put("ns", "goes");
  inf.start();
  await inf.whenSynced();
  seen.length = 0;
  api.deaf = true;
  api.put("ns", "changes");
  api.put("ns", "new");
  api.remove("ns", "goes");
  assert.deepEqual(seen, [], "the watch is dead and says nothing");
  await timers.advance(10_000);
  assert.deepEqual(seen.sort(), ["add new", "delete goes", "update changes"]);
  assert.deepEqual(
    inf
      .list()
      .map((o) => o.metadata?.name)
      .sort(),
    ["changes", "new", "stays"],
  );
  assert.equal(inf.stats.relists, 1);
  assert.equal(api.watchers.size, 1, "the old watch was stopped, the new one runs");
  await inf.stop();
});

test("an unchanged relist reports nothing", async () => {
  const { api, timers, inf, seen } = setup(10_000);
  api.put("ns", "a");
  inf.start();
  await inf.whenSynced();
  seen.length = 0;
  await timers.advance(30_000);
  assert.equal(inf.stats.relists, 3);
  assert.deepEqual(seen, []);
  await inf.stop();
});

test("a relist whose list fails keeps the current cache and retries sooner", async () => {
  const { api, timers, inf, seen } = setup(10_000);
  api.put("ns", "a");
  inf.start();
  await inf.whenSynced();
  seen.length = 0;
  api.listFailures = 1;
  await timers.advance(10_000);
  assert.equal(inf.stats.relists, 0);
  assert.deepEqual(
    inf.list().map((o) => o.metadata?.name),
    ["a"],
  );
  await timers.advance(1_000);
  assert.equal(inf.stats.relists, 1);
  await inf.stop();
});

test("the index follows adds, label changes, deletes and relists", async () => {
  const { api, timers, inf } = setup(10_000);
  api.put("ns", "s1", { svc: "web" });
  api.put("ns", "s2", { svc: "web" });
  api.put("other", "s1", { svc: "web" });
  api.put("ns", "nolabel");
  inf.start();
  await inf.whenSynced();
  const names = (k: string) =>
    inf
      .byIndex(k)
      .map((o) => `${o.metadata?.namespace}/${o.metadata?.name}`)
      .sort();
  assert.deepEqual(names("ns/web"), ["ns/s1", "ns/s2"]);
  assert.deepEqual(names("other/web"), ["other/s1"]);
  api.put("ns", "s2", { svc: "db" });
  assert.deepEqual(names("ns/web"), ["ns/s1"]);
  assert.deepEqual(names("ns/db"), ["ns/s2"]);
  api.remove("ns", "s1");
  assert.deepEqual(names("ns/web"), []);
  api.deaf = true;
  api.put("ns", "s3", { svc: "web" });
  await timers.advance(10_000);
  assert.deepEqual(names("ns/web"), ["ns/s3"]);
  await inf.stop();
});

test("stop ends everything: the AbortError it causes is ignored, no restart is scheduled", async () => {
  const { api, timers, inf } = setup();
  inf.start();
  await inf.whenSynced();
  await inf.stop();
  assert.equal(api.watchers.size, 0);
  assert.equal(inf.stats.errors, 0);
  assert.equal(timers.waiting, 0);
  await timers.advance(120_000);
  assert.equal(inf.stats.restarts, 0);
});

test("errors of garbage shapes are counted and described, never thrown", async () => {
  const { api, timers, inf } = setup();
  inf.start();
  await inf.whenSynced();
  for (const w of [...api.watchers]) {
    api.watchers.delete(w);
    for (const cb of w.cbs.error ?? []) cb(undefined as never);
  }
  assert.equal(inf.stats.lastError, "undefined");
  await timers.advance(200);
  assert.equal(api.watchers.size, 1, "restarted anyway");
  await inf.stop();
});

test("describe() gives an API refusal as the server's reason and message, not client-node's wrapper around its JSON", async () => {
  const { ApiException } = await import("@kubernetes/client-node");
  const { describe } = await import("./informer.ts");
  const message =
    'services is forbidden: User "system:serviceaccount:kube-nftlb:kube-nftlb-syncer" cannot list resource "services" in API group "" at the cluster scope';
  const status = {
    kind: "Status",
    apiVersion: "v1",
    status: "Failure",
    message,
    reason: "Forbidden",
    code: 403,
  };
  // client-node 2.x: the body as received (a string); its message is
  // "HTTP-Code: 403\nMessage: ...\nBody: <escaped JSON>..."
  const err = new ApiException(403, "Unknown API Status Code!", JSON.stringify(status), {});
  assert.equal(describe(err), `Forbidden: ${message} (403)`);
  assert.equal(describe(new ApiException(403, "x", status, {})), `Forbidden: ${message} (403)`);
  // anything else keeps its own message
  const html = new ApiException(502, "bad gateway", "<html>", {});
  assert.equal(describe(html), `${html.message} (502)`);
  assert.equal(describe(new Error("ECONNRESET")), "ECONNRESET");
});
