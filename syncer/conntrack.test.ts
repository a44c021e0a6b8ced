// UDP conntrack cleanup: the pure planner (conntrack-plan.ts) and the thin adapter over the
// `conntrack` tool (conntrack-tool.ts), fed garbage. With real packets: test/udp-conntrack.test.ts.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { parseConntrackList, staleFlows, udpFrontends, type Flow } from "./conntrack-plan.ts";
import { conntrackCleaner, type ConntrackExec } from "./conntrack-tool.ts";
import { parseSyncerArgs } from "./config.ts";
import type { Farm } from "../nftlb/types.ts";
import { desired } from "./desired.ts";
import { NODE, service, slice } from "./desired-fixtures.test-helpers.ts";

const VIP = "10.96.0.10";
const line = (dst: string, replySrc: string, extra = "") =>
  `udp      17 29 src=10.202.7.2 dst=${dst} sport=40000 dport=53 ${extra}src=${replySrc} dst=10.202.7.2 sport=5353 dport=40000 mark=0 use=1`;
const DNS = [{ name: "dns", port: 53, protocol: "UDP", targetPort: "dns", nodePort: 30053 }];
/** The farm desired makes for a UDP NodePort Service at VIP:53 (node 192.168.1.10:30053). */
const farm = (backends: { ip: string; ready?: boolean }[], protocol: "UDP" | "TCP" = "UDP"): Farm => {
  const ports = DNS.map((p) => ({ ...p, protocol }));
  const eps = [slice("dns-1", backends, { svc: "web", ports: [{ name: "dns", port: 5353, protocol }] })];
  return desired(service({ type: "NodePort", ports }), eps, NODE).farms[0]!;
};

describe("parseConntrackList", () => {
  it("reads the original destination and the reply source of each UDP entry", () => {
    const r = parseConntrackList(`${line(VIP, "10.244.0.5")}\n${line(VIP, VIP, "[UNREPLIED] ")}\n`);
    assert.deepEqual(r, {
      flows: [
        { family: "ipv4", origDst: VIP, origDport: 53, replySrc: "10.244.0.5" },
        { family: "ipv4", origDst: VIP, origDport: 53, replySrc: VIP },
      ],
      skipped: 0,
    });
  });
  it("IPv6 addresses come out canonical", () => {
    const r = parseConntrackList(line("fd00:0:0::10", "fd00::0:5"));
    assert.deepEqual(r.flows, [{ family: "ipv6", origDst: "fd00::10", origDport: 53, replySrc: "fd00::5" }]);
  });
  it("garbage is skipped and counted, never thrown on", () => {
    const garbage = [
      "conntrack v1.4.7 (conntrack-tools): 3 flow entries have been shown.",
      "tcp      6 119 TIME_WAIT src=1.1.1.1 dst=2.2.2.2 sport=1 dport=80 src=2.2.2.2 dst=1.1.1.1 sport=80 dport=1",
      "udp 17 29 src=10.0.0.1 dst=999.1.1.1 sport=1 dport=53 src=10.0.0.2 dst=10.0.0.1 sport=53 dport=1",
      "udp 17 29 src=10.0.0.1 dst=10.0.0.9 sport=1 dport=99999 src=10.0.0.2 dst=10.0.0.1",
      "udp 17 29 src=10.0.0.1 dst=10.0.0.9 sport=1 dport=5x src=10.0.0.2",
      "udp 17 29 src=10.0.0.1 dst=10.0.0.9 sport=1 dport=53",
      "udp 17 29 src=10.0.0.1 dst=10.0.0.9 dport=53 src=fd00::1",
      "\u0000\u00ff garbage ===",
      "   ",
    ].join("\n");
    assert.deepEqual(parseConntrackList(garbage), { flows: [], skipped: 8 });
  });
});

describe("staleFlows: kube-proxy's rule", () => {
  const fronts = udpFrontends([farm([{ ip: "10.244.0.5" }, { ip: "10.244.0.6" }])]);
  const flow = (origDst: string, origDport: number, replySrc: string): Flow => ({
    family: "ipv4",
    origDst,
    origDport,
    replySrc,
  });
  it("a flow answered by a backend that no longer serves goes; one answered by a serving backend stays", () => {
    assert.deepEqual(staleFlows([flow(VIP, 53, "10.244.0.9"), flow(VIP, 53, "10.244.0.5")], fronts), [
      flow(VIP, 53, "10.244.0.9"),
    ]);
  });
  it("a flow begun with no backends (never DNATed: the reply comes from the VIP) goes once there are some", () => {
    assert.deepEqual(staleFlows([flow(VIP, 53, VIP)], fronts), [flow(VIP, 53, VIP)]);
  });
  it("the NodePort on the node's address counts like any Service address", () => {
    assert.deepEqual(staleFlows([flow("192.168.1.10", 30053, "10.244.0.9")], fronts).length, 1);
  });
  it("other addresses and ports are left alone; duplicates are deleted once", () => {
    assert.deepEqual(staleFlows([flow(VIP, 54, "10.244.0.9"), flow("10.96.0.11", 53, "x")], fronts), []);
    assert.equal(staleFlows([flow(VIP, 53, VIP), flow(VIP, 53, VIP)], fronts).length, 1);
  });
  it("a Service without serving backends keeps its flows (nowhere better to send them); TCP is not touched", () => {
    assert.deepEqual(udpFrontends([farm([]), farm([{ ip: "10.244.0.5", ready: false }])]), []);
    assert.deepEqual(udpFrontends([farm([{ ip: "10.244.0.5" }], "TCP")]), []);
  });
});

describe("conntrackCleaner: the conntrack tool's answers, garbage included", () => {
  const fake = (answers: Record<string, { code: number; stdout?: string; stderr?: string }>) => {
    const calls: string[] = [];
    const exec: ConntrackExec = (args) => {
      calls.push(args.join(" "));
      const a = answers[args[0]!] ?? { code: 0 };
      return Promise.resolve({ code: a.code, stdout: a.stdout ?? "", stderr: a.stderr ?? "" });
    };
    return { exec, calls };
  };
  const farms = [farm([{ ip: "10.244.0.5" }])];

  it("lists UDP entries of the family, deletes each stale one with kube-proxy's filter", async () => {
    const f = fake({
      "-L": { code: 0, stdout: `${line(VIP, "10.244.0.9")}\n${line(VIP, "10.244.0.5")}\nnoise` },
    });
    assert.deepEqual(await conntrackCleaner(f.exec).clean(farms), { ok: true, deleted: 1, skipped: 1 });
    assert.deepEqual(f.calls, [
      "-L -p udp -f ipv4",
      `-D -p udp -f ipv4 --orig-dst ${VIP} --orig-port-dst 53 --reply-src 10.244.0.9`,
    ]);
  });
  it("an entry gone before the delete (exit 1, '0 flow entries have been deleted') is no failure", async () => {
    const f = fake({
      "-L": { code: 0, stdout: line(VIP, VIP) },
      "-D": { code: 1, stderr: "conntrack v1.4.7 (conntrack-tools): 0 flow entries have been deleted.\n" },
    });
    assert.deepEqual(await conntrackCleaner(f.exec).clean(farms), { ok: true, deleted: 0, skipped: 0 });
  });
  it("no permission, no binary, or a failing delete: an error value with conntrack's first line", async () => {
    const denied = fake({ "-L": { code: 1, stderr: "conntrack v1.4.7: Operation not permitted\nmore" } });
    assert.deepEqual(await conntrackCleaner(denied.exec).clean(farms), {
      ok: false,
      error: "conntrack -L: conntrack v1.4.7: Operation not permitted",
    });
    const missing = fake({ "-L": { code: 127 } });
    assert.deepEqual(await conntrackCleaner(missing.exec).clean(farms), {
      ok: false,
      error: "conntrack -L: exit 127",
    });
    const bad = fake({ "-L": { code: 0, stdout: line(VIP, VIP) }, "-D": { code: 2, stderr: "invalid\n" } });
    assert.deepEqual(await conntrackCleaner(bad.exec).clean(farms), {
      ok: false,
      error: "conntrack -D: invalid",
    });
  });
  it("no UDP farm with backends: conntrack is not even run", async () => {
    const f = fake({});
    assert.deepEqual(await conntrackCleaner(f.exec).clean([farm([])]), {
      ok: true,
      deleted: 0,
      skipped: 0,
    });
    assert.deepEqual(f.calls, []);
  });
});

describe("--conntrack", () => {
  const base = ["--nftlb-url=http://127.0.0.1:5555", "--nftlb-key-file=/k", "--node-name=n"];
  it("takes an absolute path; anything else is a usage error", () => {
    const ok = parseSyncerArgs([...base, "--conntrack=/usr/sbin/conntrack"], () => "k3y-0123456789abcdef");
    assert.ok(ok.ok === true && ok.config.conntrack === "/usr/sbin/conntrack");
    const bad = parseSyncerArgs([...base, "--conntrack=conntrack"], () => "k3y-0123456789abcdef");
    assert.deepEqual(bad, { ok: false, error: '--conntrack must be an absolute path, got "conntrack"' });
    const off = parseSyncerArgs(base, () => "k3y-0123456789abcdef");
    assert.ok(off.ok === true && off.config.conntrack === undefined);
  });
});
