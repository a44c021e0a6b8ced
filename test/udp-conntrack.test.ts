// UDP conntrack cleanup with real packets (issue 12 item 2, kube-proxy's semantics): the real
// syncer with --conntrack (the real `conntrack` tool, run in the node's namespace), the real
// nftlb, a UDP client with a FIXED source port (as every DNS resolver) in the client namespace.
// - its backend stops serving (readiness false), then another is deleted: once the syncer has
//   deleted the flow's conntrack entry, the very next answers come from a serving backend
//   (without the cleanup the flow's conntrack entry keeps it on the old backend for as long as
//   the client keeps sending);
// - a flow begun while the Service had no endpoints (never DNATed) is balanced once endpoints
//   appear (without the cleanup it stays un-NATed). The flow begins before the Service's rules
//   exist: once kube-nftlb's table refuses the endpoint-less Service, a new flow's first packet is
//   rejected and leaves no conntrack entry — when the refusal lands relative to the flow's first
//   packet is a race the test must not depend on.
// The tests wait for the syncer's `conntrack -D` (the wrapper below logs each run), not for a
// time: under load the cleanup's processes took more than the 1 s these tests once allowed.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import path from "node:path";
import { cannotBuildNetwork, type TestNetwork } from "../lab/net/index.ts";
import { ipBatch } from "../lab/net/sys.ts";
import { startClientAgent, type ClientAgent } from "../lab/net/client.ts";
import { startSyncer, type Syncer } from "../syncer/run.ts";
import { startWorld, syncerConfig, type SyncerWorld } from "./syncer-fixture.ts";
import { until } from "./until.ts";

const run = promisify(execFile);
const skip = cannotBuildNetwork();
const NS = "default";
const CLIENT_PORT = 40053;

let world: SyncerWorld | undefined;
let net: TestNetwork;
let syncer: Syncer | undefined;
let udp: ClientAgent | undefined;
let dir = "";
let ranLog = "";

const slice = (name: string, service: string, ready: Record<string, boolean>) => ({
  apiVersion: "discovery.k8s.io/v1",
  kind: "EndpointSlice",
  metadata: { name, namespace: NS, labels: { "kubernetes.io/service-name": service } },
  addressType: "IPv4",
  endpoints: Object.entries(ready).map(([b, r]) => ({
    addresses: [net.backends.find((x) => x.name === b)!.ip],
    conditions: { ready: r },
    targetRef: { kind: "Pod", name: b, namespace: NS },
  })),
  ports: [{ name: "dns", port: 5353, protocol: "UDP" }],
});
const service = (name: string, vip: string) => ({
  apiVersion: "v1",
  kind: "Service",
  metadata: { name, namespace: NS },
  spec: { clusterIP: vip, ports: [{ name: "dns", port: 53, protocol: "UDP", targetPort: 5353 }] },
});
const setSlice = (name: string, svc: string, ready: Record<string, boolean>) =>
  world!.discovery.replaceNamespacedEndpointSlice({ name, namespace: NS, body: slice(name, svc, ready) });

/** One datagram from the fixed source port; the answering backend's name, or undefined. */
const ask = async (vip: string, timeoutMs = 300): Promise<string | undefined> => {
  const p = await udp!.udp(vip, 53, { timeoutMs, fromPort: CLIENT_PORT });
  return p.ok ? p.answer : undefined;
};
/** Whether the syncer's conntrack tool deleted the UDP entries of vip:53 answered by `replySrc`. */
const deleted = (vip: string, replySrc: string) =>
  readFileSync(ranLog, "utf8")
    .split("\n")
    .includes(`0 -D -p udp -f ipv4 --orig-dst ${vip} --orig-port-dst 53 --reply-src ${replySrc}`);
/** Whether the node's conntrack holds the client's UDP flow to vip:53 answered by `replySrc`. */
const hasEntry = async (vip: string, replySrc: string): Promise<boolean> => {
  const { stdout } = await run("ip", [
    "netns",
    "exec",
    net.node.ns,
    "conntrack",
    "-L",
    "-p",
    "udp",
    "--orig-dst",
    vip,
    "--orig-port-dst",
    "53",
  ]);
  return stdout
    .split("\n")
    .some((l) => l.includes(`sport=${CLIENT_PORT} `) && l.includes(`src=${replySrc} `));
};
const ipOf = (backend: string) => net.backends.find((b) => b.name === backend)!.ip;
const farmBackends = async (farm: string) => {
  const r = await world!.nftlb.getFarm(farm);
  return r.ok ? (r.value?.backends ?? []).map((b) => b.name).sort() : [];
};

before(async () => {
  if (skip) return;
  world = await startWorld({ backends: 3, port: 5353 });
  net = world.net;
  // The node's uplink (a real node has a default route): a datagram to a Service without
  // endpoints leaves toward the client namespace, which drops it, and conntrack keeps its entry.
  await ipBatch([`route add default via ${net.client.ip}`], net.node.ns);
  // The syncer runs in this (host) process; the conntrack tool must act in the node's namespace.
  dir = mkdtempSync(path.join(tmpdir(), "knl-conntrack-"));
  const tool = path.join(dir, "conntrack");
  ranLog = path.join(dir, "ran.log");
  writeFileSync(ranLog, "");
  writeFileSync(
    tool,
    `#!/bin/sh\nip netns exec ${net.node.ns} conntrack "$@"\nrc=$?\necho "$rc $*" >> ${ranLog}\nexit $rc\n`,
  );
  chmodSync(tool, 0o755);
  syncer = await startSyncer(syncerConfig(net, world.api, { conntrack: tool }), { log: world.log });
  await syncer.started;
  udp = await startClientAgent(net.client.ns);
});

after(async () => {
  if (skip) return;
  await udp?.close();
  await syncer?.stop();
  await world?.destroy();
  rmSync(dir, { recursive: true, force: true });
});

test(
  "a fixed-port UDP client moves to a serving backend once its own stops serving, then when it is deleted",
  { skip },
  async () => {
    const [b0, b1, b2] = net.backends.map((b) => b.name) as [string, string, string];
    const vip = net.vip(10);
    await world!.core.createNamespacedService({ namespace: NS, body: service("dns", vip) });
    await world!.discovery.createNamespacedEndpointSlice({
      namespace: NS,
      body: slice("dns-1", "dns", { [b0]: true, [b1]: true, [b2]: true }),
    });
    // Programmed before the first datagram: this flow is DNATed from its start.
    await until(
      "nftlb has the three backends",
      async () => (await farmBackends("default.dns.dns")).length === 3,
    );
    const first = await until("the fixed-port flow answered", () => ask(vip));
    // The flow sticks (its conntrack entry): the same backend, datagram after datagram.
    for (let i = 0; i < 3; i++) assert.equal(await ask(vip), first);

    // 1. Its backend's readiness goes false (serving false): the syncer drops it and cleans up.
    const others = [b0, b1, b2].filter((b) => b !== first);
    await setSlice("dns-1", "dns", Object.fromEntries([b0, b1, b2].map((b) => [b, b !== first])));
    await until(
      "nftlb dropped the backend",
      async () => (await farmBackends("default.dns.dns")).join() === others.join(),
    );
    await until(`the syncer deleted the flow's entry to ${first}`, () => deleted(vip, ipOf(first)));
    // Every answer from here on is a serving backend's (a lost datagram is asked again).
    const moved = await until("the flow answered", () => ask(vip));
    assert.ok(others.includes(moved), `${moved} answered; serving: ${others.join(", ")}`);

    // 2. That one is deleted from the slice.
    const left = others.filter((b) => b !== moved);
    await setSlice("dns-1", "dns", Object.fromEntries(left.map((b) => [b, true])));
    await until(
      "nftlb dropped the deleted one",
      async () => (await farmBackends("default.dns.dns")).join() === left.join(),
    );
    await until(`the syncer deleted the flow's entry to ${moved}`, () => deleted(vip, ipOf(moved)));
    const again = await until("the flow answered", () => ask(vip));
    assert.deepEqual([again], left);
  },
);

test(
  "a UDP flow begun while the Service had no endpoints is balanced once endpoints appear",
  { skip },
  async () => {
    const [b0] = net.backends.map((b) => b.name) as [string];
    const vip = net.vip(11);
    // The flow begins while nothing handles the address: toward the default route, un-NATed,
    // and conntrack keeps its entry (the reply source is the address itself).
    assert.equal(await ask(vip), undefined);
    await until("the un-NATed flow has a conntrack entry", () => hasEntry(vip, vip));
    await world!.core.createNamespacedService({ namespace: NS, body: service("empty", vip) });
    await world!.discovery.createNamespacedEndpointSlice({
      namespace: NS,
      body: slice("empty-1", "empty", {}),
    });
    await until("the farm exists", async () => {
      const r = await world!.nftlb.getFarm("default.empty.dns");
      return r.ok && r.value !== undefined;
    });
    // Nothing answers the flow while the Service has no endpoints, and its entry stays un-NATed.
    assert.equal(await ask(vip), undefined);
    assert.ok(await hasEntry(vip, vip), "the flow's entry is still the un-NATed one");

    await setSlice("empty-1", "empty", { [b0]: true });
    await until("nftlb has the backend", async () => (await farmBackends("default.empty.dns")).join() === b0);
    // Its entry was never NATed: the reply source is the Service address itself.
    await until("the syncer deleted the un-NATed entry", () => deleted(vip, vip));
    const answered = await until("the same flow answered", () => ask(vip));
    assert.equal(answered, b0);
  },
);
