// As a new user would: `kube-nftlb render` on examples/render, the printed body POSTed as is to a
// fresh nftlb, and real traffic to every IPv4 VIP:port answered by that farm's backends. The lab's
// backends take the examples' Pod IPs; the node's client-side address plays node-a.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import process from "node:process";
import { cannotBuildNetwork, createTestNetwork, tally, type TestNetwork } from "../lab/net/index.ts";
import { createTransport } from "../nftlb/transport.ts";
import { parseFarms } from "../nftlb/parse.ts";

const skip = cannotBuildNetwork();
const POD_IPS = [
  "10.244.0.11",
  "10.244.1.12",
  "10.244.1.13",
  "10.244.0.21",
  "10.244.1.22",
  "192.0.2.10",
  "192.0.2.11",
];
let net: TestNetwork | undefined;

before(async () => {
  if (skip) return;
  net = await createTestNetwork({ backends: POD_IPS.length, backendIps: POD_IPS, ports: [8080, 5353, 5432] });
});
after(async () => net?.destroy());

test("render's output for examples/render, POSTed to a fresh nftlb, balances real traffic", async (t) => {
  if (skip) return t.skip(skip);
  const nodeIp = net!.node.clientSideIp;
  const render = spawnSync(
    process.execPath,
    ["bin/kube-nftlb.js", "render", "--node-name", "node-a", "--node-ip", nodeIp, "examples/render"],
    { encoding: "utf8" },
  );
  assert.equal(render.status, 0, render.stderr);
  const send = createTransport({ url: net!.nftlb.url, key: net!.nftlb.key, timeoutMs: 10_000 });
  const posted = await send("POST", "/farms", render.stdout);
  assert.ok(posted.ok && posted.answer.status === 200, JSON.stringify(posted));
  assert.equal(posted.answer.body, '{"response": "success"}');

  const farms = parseFarms(render.stdout);
  assert.ok(farms.ok);
  const byIp = new Map(net!.backends.map((b) => [b.ip, b.name]));
  let probed = 0;
  let nodePorts = 0;
  for (const farm of farms.value) {
    const expected = farm.backends
      .map((b) => byIp.get(b["ip-addr"]))
      .filter((n): n is string => n !== undefined);
    for (const a of farm.addresses.filter((x) => x.family === "ipv4" && x.protocol !== "sctp")) {
      const answers = await net!.client.many(
        a.protocol === "udp" ? "udp" : "tcp",
        a["ip-addr"],
        Number(a.ports),
        8,
      );
      const counts = tally(answers);
      assert.equal(
        counts["(failed)"],
        undefined,
        `${farm.name} ${a["ip-addr"]}:${a.ports} ${JSON.stringify(counts)}`,
      );
      for (const who of Object.keys(counts))
        assert.ok(expected.includes(who), `${farm.name}: ${who} is not a backend`);
      if (farm.scheduler === "rr" && farm.persistence === "none") {
        assert.deepEqual(Object.keys(counts).sort(), [...expected].sort(), `${farm.name} spreads over all`);
      }
      probed++;
      if (a["ip-addr"] === nodeIp) nodePorts++;
    }
  }
  assert.ok(probed >= 4, `probed ${probed} VIP:ports`);
  // examples/render has a NodePort Service: it answers on the node's own address and nodePort.
  assert.ok(nodePorts >= 1, "a NodePort was probed on the node address");
});
