// The conntrack agent and the syncer's client of it, over a real unix socket; the part that needs
// CAP_NET_ADMIN is a fake FrontendCleaner here (with the real tool: test/udp-conntrack.test.ts).
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, statSync } from "node:fs";
import net from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import {
  agentCleaner,
  parseRequest,
  startConntrackAgent,
  type ConntrackAgent,
} from "../syncer/conntrack-agent.ts";
import type { UdpFrontend } from "../syncer/conntrack-plan.ts";
import { run as agentCli } from "../cli/conntrack-agent.ts";
import { desired } from "../syncer/desired.ts";
import { NODE, service, slice } from "../syncer/desired-fixtures.test-helpers.ts";

const quiet = { info: () => undefined, warn: () => undefined };
let dir = "";
let socket = "";
let agent: ConntrackAgent;
const seen: UdpFrontend[][] = [];

/** One raw line to the agent, its raw answer. */
const raw = (line: string): Promise<string> =>
  new Promise((resolve) => {
    let buf = "";
    const c = net.connect(socket, () => c.write(line));
    c.setEncoding("utf8");
    c.on("data", (d: string) => (buf += d));
    c.on("end", () => resolve(buf));
  });

before(async () => {
  dir = mkdtempSync(path.join(tmpdir(), "knl-ct-agent-"));
  socket = path.join(dir, "agent.sock");
  agent = await startConntrackAgent({
    socket,
    log: quiet,
    clean: (frontends) => {
      seen.push([...frontends]);
      return Promise.resolve({ ok: true, deleted: frontends.length, skipped: 0 });
    },
  });
});
after(async () => {
  await agent.close();
  rmSync(dir, { recursive: true, force: true });
});

describe("conntrack agent", () => {
  it("listens with mode 0660 (the pod's group may connect, others not)", () => {
    assert.equal(statSync(socket).mode & 0o777, 0o660);
  });

  it("the syncer's client sends the UDP addresses of the farms and gets the agent's answer", async () => {
    const ports = [{ name: "dns", port: 53, protocol: "UDP", targetPort: "dns" }];
    const eps = [
      slice("d", [{ ip: "10.244.0.5" }], { ports: [{ name: "dns", port: 5353, protocol: "UDP" }] }),
    ];
    const farms = desired(service({ ports }), eps, NODE).farms;
    seen.length = 0;
    assert.deepEqual(await agentCleaner(socket).clean(farms), { ok: true, deleted: 1, skipped: 0 });
    assert.deepEqual(seen, [
      [{ family: "ipv4", ip: "10.96.0.10", port: 53, serving: new Set(["10.244.0.5"]) }],
    ]);
  });

  it("garbage is answered with an error and reaches no cleanup", async () => {
    seen.length = 0;
    for (const bad of [
      "not json\n",
      "[]\n",
      '{"frontends":"x"}\n',
      '{"frontends":[{"family":"ipv4","ip":"999.1.1.1","port":53,"serving":["10.0.0.1"]}]}\n',
      '{"frontends":[{"family":"ipv4","ip":"10.0.0.1","port":0,"serving":["10.0.0.1"]}]}\n',
      '{"frontends":[{"family":"ipv4","ip":"10.0.0.1","port":53,"serving":[]}]}\n',
      '{"frontends":[{"family":"ipv5","ip":"10.0.0.1","port":53,"serving":["10.0.0.2"]}]}\n',
      '{"frontends":[],"rm":"-rf"}\n',
    ]) {
      const answer = JSON.parse(await raw(bad)) as { ok: boolean; error?: string };
      assert.equal(answer.ok, false, bad);
      assert.match(answer.error ?? "", /not JSON|invalid request/, bad);
    }
    assert.deepEqual(seen, []);
  });

  it("parseRequest gives canonical addresses", () => {
    const r = parseRequest(
      '{"frontends":[{"family":"ipv6","ip":"fd00:0::10","port":53,"serving":["FD00::5"]}]}',
    );
    assert.ok(r.ok);
    assert.deepEqual(r.frontends, [
      { family: "ipv6", ip: "fd00::10", port: 53, serving: new Set(["fd00::5"]) },
    ]);
  });

  it("the client: no agent, or an agent answering garbage, is an error value", async () => {
    const farms = desired(
      service({ ports: [{ name: "dns", port: 53, protocol: "UDP", targetPort: "dns" }] }),
      [slice("d", [{ ip: "10.244.0.5" }], { ports: [{ name: "dns", port: 5353, protocol: "UDP" }] })],
      NODE,
    ).farms;
    const missing = await agentCleaner(path.join(dir, "nobody.sock")).clean(farms);
    assert.deepEqual(missing, {
      ok: false,
      error: `conntrack agent at ${path.join(dir, "nobody.sock")}: ENOENT`,
    });
    const liar = path.join(dir, "liar.sock");
    const server = net.createServer((c) => c.end('{"ok":"maybe"}\n'));
    await new Promise<void>((r) => server.listen(liar, r));
    assert.deepEqual(await agentCleaner(liar).clean(farms), {
      ok: false,
      error: "the conntrack agent's answer is not one",
    });
    server.close();
  });

  it("the command refuses bad flags with exit 2", async () => {
    const err = console.error;
    console.error = () => undefined;
    try {
      assert.equal(await agentCli([]), 2);
      assert.equal(await agentCli(["--socket", "relative.sock"]), 2);
      assert.equal(await agentCli(["--socket", "/x.sock", "--conntrack", "conntrack"]), 2);
      assert.equal(await agentCli(["--socket", "/x.sock", "--log-level", "loud"]), 2);
      assert.equal(await agentCli(["--bogus"]), 2);
    } finally {
      console.error = err;
    }
  });
});
