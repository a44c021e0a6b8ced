import { test } from "node:test";
import assert from "node:assert/strict";
import { Counter } from "prom-client";
import { createRegistry } from "./metrics.ts";
import { startProbeServer } from "./probes.ts";

test("healthz, readyz and metrics answer what they are told; other paths and methods do not", async () => {
  const registry = createRegistry({ defaultMetrics: false });
  new Counter({ name: "probe_test_total", help: "t", registers: [registry] }).inc(3);
  let ready = false;
  let live = true;
  const probes = await startProbeServer({
    port: 0,
    host: "127.0.0.1",
    registry,
    ready: () => ready,
    live: () => live,
  });
  const url = (p: string) => `http://127.0.0.1:${probes.port}${p}`;
  try {
    assert.equal((await fetch(url("/readyz"))).status, 503);
    ready = true;
    assert.equal((await fetch(url("/readyz?verbose"))).status, 200);
    assert.equal((await fetch(url("/healthz"))).status, 200);
    live = false;
    assert.equal((await fetch(url("/healthz"))).status, 503);
    const metrics = await fetch(url("/metrics"));
    assert.match(metrics.headers.get("content-type") ?? "", /text\/plain/);
    assert.match(await metrics.text(), /probe_test_total 3/);
    assert.equal((await fetch(url("/nope"))).status, 404);
    assert.equal((await fetch(url("/readyz"), { method: "POST" })).status, 405);
  } finally {
    await probes.close();
  }
});

test("an unready /readyz says why when it is told why", async () => {
  let ready: boolean | string = "caches not synced: services";
  const probes = await startProbeServer({
    port: 0,
    host: "127.0.0.1",
    registry: createRegistry({ defaultMetrics: false }),
    ready: () => ready,
  });
  const readyz = async () => {
    const r = await fetch(`http://127.0.0.1:${probes.port}/readyz`);
    return [r.status, await r.text()];
  };
  try {
    assert.deepEqual(await readyz(), [503, "not ready: caches not synced: services\n"]);
    ready = false;
    assert.deepEqual(await readyz(), [503, "not ready\n"]);
    ready = true;
    assert.deepEqual(await readyz(), [200, "ok\n"]);
  } finally {
    await probes.close();
  }
});
