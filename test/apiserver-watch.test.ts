/* eslint-disable @typescript-eslint/no-unsafe-member-access, @typescript-eslint/no-unsafe-assignment, @typescript-eslint/no-unsafe-argument -- watch events are plain JSON */
// Watch on the wire: replay from a resourceVersion, synthetic ADDED for "" and "0", selector
// enter/leave as ADDED/DELETED, 410 Expired with the watch cache's text, bookmarks, timeoutSeconds,
// sendInitialEvents; and the fault API: dropped and expired watches, 500s, 429s, latency.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { nextEvent, openWatch, request } from "../lab/apiserver/client.ts";
import { startApiServer, type ApiServer } from "../lab/apiserver/index.ts";
import { until } from "./until.ts";

let api: ApiServer;
before(async () => {
  api = await startApiServer({ historySize: 5, bookmarkIntervalMs: 100 });
});
after(async () => api.stop());

const CMS = "/api/v1/namespaces/default/configmaps";
const cm = (name: string, labels: Record<string, string> = {}) => ({
  apiVersion: "v1",
  kind: "ConfigMap",
  metadata: { name, labels },
});
async function oneOpenWatch(): Promise<void> {
  // earlier tests' closed watches leave the server's set a moment after the client closes them
  await until("one open watch", () => api.faults.openWatches === 1, {
    timeoutMs: 5000,
    intervalMs: 10,
    detail: () => `have ${api.faults.openWatches}`,
  });
}
const rvOf = async () => (await request(api, "GET", CMS)).json.metadata.resourceVersion as string;

describe("watch", () => {
  it("replays and streams ADDED, MODIFIED, DELETED after a resourceVersion, each with its own", async () => {
    const rv = await rvOf();
    await request(api, "POST", CMS, { body: cm("w1") });
    const w = openWatch(api, `${CMS}?watch=true&resourceVersion=${rv}`);
    await request(api, "PATCH", `${CMS}/w1`, {
      body: { data: { a: "1" } },
      contentType: "application/merge-patch+json",
    });
    await request(api, "DELETE", `${CMS}/w1`);
    const got = [await nextEvent(w.events), await nextEvent(w.events), await nextEvent(w.events)];
    w.close();
    assert.deepEqual(
      got.map((e) => `${e.type} ${e.object.metadata.name}`),
      ["ADDED w1", "MODIFIED w1", "DELETED w1"],
    );
    assert.equal(got[0].object.kind, "ConfigMap");
    const rvs = got.map((e) => Number(e.object.metadata.resourceVersion));
    assert.ok(rvs[0]! > Number(rv) && rvs[0]! < rvs[1]! && rvs[1]! < rvs[2]!, String(rvs));
  });

  it('starts with synthetic ADDED events for resourceVersion "" and "0" (watch=1 works too)', async () => {
    await request(api, "POST", CMS, { body: cm("s1") });
    for (const q of ["watch=true", "watch=1&resourceVersion=0"]) {
      const w = openWatch(api, `${CMS}?${q}&fieldSelector=metadata.name%3Ds1`);
      const e = await nextEvent(w.events);
      w.close();
      assert.equal(e.type, "ADDED");
      assert.equal(e.object.metadata.name, "s1");
    }
  });

  it("turns an object leaving or entering the label selector into DELETED / ADDED", async () => {
    await request(api, "POST", CMS, { body: cm("sel", { pick: "yes" }) });
    const w = openWatch(api, `${CMS}?watch=true&labelSelector=pick%3Dyes`);
    assert.equal((await nextEvent(w.events)).type, "ADDED");
    const label = (v: string) =>
      request(api, "PATCH", `${CMS}/sel`, {
        body: { metadata: { labels: { pick: v } } },
        contentType: "application/merge-patch+json",
      });
    await label("no");
    await label("yes");
    const left = await nextEvent(w.events);
    const back = await nextEvent(w.events);
    w.close();
    assert.equal(left.type, "DELETED");
    assert.equal(back.type, "ADDED");
    assert.ok(Number(back.object.metadata.resourceVersion) > Number(left.object.metadata.resourceVersion));
  });

  it("answers a resourceVersion older than the window with a 410 Expired ERROR event", async () => {
    const old = await rvOf();
    for (let i = 0; i < 7; i++) await request(api, "POST", CMS, { body: cm(`churn-${i}`) });
    const w = openWatch(api, `${CMS}?watch=true&resourceVersion=${old}`);
    assert.equal(await w.status, 200);
    const e = await nextEvent(w.events);
    assert.equal(e.type, "ERROR");
    assert.equal(e.object.code, 410);
    assert.equal(e.object.reason, "Expired");
    assert.match(e.object.message, new RegExp(`^too old resource version: ${old} \\(\\d+\\)$`));
    assert.equal(await nextEvent(w.events), undefined, "the stream ends after the error");
  });

  it("sends BOOKMARKs when allowed, and one more before ending at timeoutSeconds", async () => {
    const w = openWatch(
      api,
      `${CMS}?watch=true&resourceVersion=${await rvOf()}&allowWatchBookmarks=true&timeoutSeconds=1`,
    );
    const events = [];
    for (let e = await nextEvent(w.events); e !== undefined; e = await nextEvent(w.events)) events.push(e);
    assert.ok(events.length >= 2, `periodic and final bookmarks, got ${events.length}`);
    for (const e of events) {
      assert.equal(e.type, "BOOKMARK");
      assert.equal(e.object.kind, "ConfigMap");
      assert.match(e.object.metadata.resourceVersion, /^\d+$/);
    }
  });

  it("sends no BOOKMARK unless asked", async () => {
    const w = openWatch(api, `${CMS}?watch=true&resourceVersion=${await rvOf()}&timeoutSeconds=1`);
    assert.equal(await nextEvent(w.events), undefined);
  });

  it("streams initial events then an initial-events-end bookmark with sendInitialEvents", async () => {
    const w = openWatch(
      api,
      `${CMS}?watch=true&sendInitialEvents=true&allowWatchBookmarks=true&resourceVersionMatch=NotOlderThan&fieldSelector=metadata.name%3Ds1`,
    );
    const a = await nextEvent(w.events);
    const b = await nextEvent(w.events);
    w.close();
    assert.equal(a.type, "ADDED");
    assert.equal(b.type, "BOOKMARK");
    assert.equal(b.object.metadata.annotations["k8s.io/initial-events-end"], "true");
  });
});

describe("faults", () => {
  it("dropWatches cuts open watches", async () => {
    const w = openWatch(api, `${CMS}?watch=true&resourceVersion=${await rvOf()}`);
    assert.equal(await w.status, 200);
    await oneOpenWatch();
    assert.equal(api.faults.dropWatches(), 1);
    assert.equal(await nextEvent(w.events), undefined);
  });

  it("expireWatches ends watches, and resuming from any resourceVersion seen gets 410 until a relist", async () => {
    const rv = await rvOf();
    const w = openWatch(api, `${CMS}?watch=true&resourceVersion=${rv}`);
    assert.equal(await w.status, 200);
    await oneOpenWatch();
    assert.equal(api.faults.expireWatches(), 1);
    assert.equal(await nextEvent(w.events), undefined);
    const again = openWatch(api, `${CMS}?watch=true&resourceVersion=${rv}`);
    assert.equal((await nextEvent(again.events)).object.code, 410);
    const fresh = openWatch(api, `${CMS}?watch=true&resourceVersion=${await rvOf()}&timeoutSeconds=1`);
    assert.equal(
      await nextEvent(fresh.events),
      undefined,
      "a watch from a fresh list works (and times out quietly)",
    );
  });

  it("failRequests answers 429 with Retry-After, then stops after forMs", async () => {
    api.faults.failRequests({ status: 429, forMs: 300, match: "GET /api/v1/namespaces/default/configmaps" });
    const r = await request(api, "GET", CMS);
    assert.equal(r.status, 429);
    assert.equal(r.headers["retry-after"], "1");
    assert.equal(r.json.reason, "TooManyRequests");
    assert.equal(r.json.details.retryAfterSeconds, 1);
    assert.equal(
      (await request(api, "GET", "/api/v1/namespaces")).status,
      200,
      "other paths are not matched",
    );
    const status = await until(
      "an answer other than 429",
      async () => {
        const s = (await request(api, "GET", CMS)).status;
        return s === 429 ? undefined : s;
      },
      { timeoutMs: 5000, intervalMs: 0 },
    );
    assert.equal(status, 200);
  });

  it("failRequests answers 500 InternalError", async () => {
    api.faults.failRequests({ status: 500, forMs: 60_000, match: /^POST / });
    const r = await request(api, "POST", CMS, { body: cm("f500") });
    assert.equal(r.status, 500);
    assert.equal(r.json.reason, "InternalError");
    api.faults.reset();
    assert.equal((await request(api, "POST", CMS, { body: cm("f500") })).status, 201);
  });

  it("latency delays every request by at least the given time", async () => {
    api.faults.latency(150);
    const t0 = Date.now();
    await request(api, "GET", CMS);
    const took = Date.now() - t0;
    api.faults.latency(0);
    assert.ok(took >= 150, `took ${took} ms`);
  });
});
