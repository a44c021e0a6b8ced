// SPEC §2's helper × protocol matrix, measured on the real nftlb 1.0.7: what the daemon accepts
// must be exactly what annotations/contract.ts admits and what the client's pre-send check
// (nftlb/validate.ts, which may not import the contract) lets through, and the five helpers nftlb never
// implemented must come back as "Parsing unknown value".
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { cannotBuildNetwork, createTestNetwork, type TestNetwork } from "../lab/net/index.ts";
import { createTransport, type Send } from "../nftlb/transport.ts";
import { HELPER_PROTOCOLS, HELPERS, UNIMPLEMENTED_HELPERS, type Protocol } from "../annotations/contract.ts";
import { NFTLB_HELPER_PROTOCOLS } from "../nftlb/validate.ts";

const skip = cannotBuildNetwork();
let net: TestNetwork | undefined;
let send: Send;

before(async () => {
  if (skip) return;
  net = await createTestNetwork({ backends: 0 });
  send = createTransport({ url: net.nftlb.url, key: net.nftlb.key, timeoutMs: 10_000 });
});
after(async () => net?.destroy());

const PROTOCOLS: Protocol[] = ["TCP", "UDP", "SCTP"];

/** Raw POST (no client-side validation): what does nftlb itself answer for helper on protocol? */
const tryHelper = async (helper: string, protocol: Protocol, n: number) => {
  const name = `default.h${n}.p`;
  const p = protocol.toLowerCase();
  const body = JSON.stringify({
    farms: [
      {
        name,
        addresses: [{ name: `${name}-v4`, family: "ipv4", "ip-addr": net!.vip(n), ports: "69", protocol: p }],
        helper,
      },
    ],
  });
  const res = await send("POST", "/farms", body);
  assert.ok(res.ok, `no answer: ${JSON.stringify(res)}`);
  // Refused helpers still leave the farm behind (nftlb does not roll back): remove it.
  const del = await send("DELETE", `/farms/${name}`);
  assert.ok(del.ok && del.answer.status === 200, JSON.stringify(del));
  return res.answer;
};

test("nftlb accepts exactly the helper/protocol pairs of HELPER_PROTOCOLS (contract and client)", async (t) => {
  if (skip) return t.skip(skip);
  const measured: Record<string, Protocol[]> = {};
  let n = 1;
  for (const helper of HELPERS.filter((h) => h !== "none")) {
    measured[helper] = [];
    for (const protocol of PROTOCOLS) {
      const answer = await tryHelper(helper, protocol, n++);
      if (answer.status === 200) {
        assert.equal(answer.body, '{"response": "success"}', `${helper}/${protocol}`);
        measured[helper].push(protocol);
      } else {
        assert.equal(answer.status, 400, `${helper}/${protocol}: ${answer.body}`);
      }
    }
  }
  assert.deepEqual(measured, HELPER_PROTOCOLS);
  const lower = Object.fromEntries(
    Object.entries(measured).map(([h, ps]) => [h, ps.map((p) => p.toLowerCase())]),
  );
  assert.deepEqual(lower, NFTLB_HELPER_PROTOCOLS);
});

test('the five unimplemented helpers answer "Parsing unknown value" on every protocol', async (t) => {
  if (skip) return t.skip(skip);
  let n = 100;
  for (const helper of UNIMPLEMENTED_HELPERS) {
    for (const protocol of PROTOCOLS) {
      const answer = await tryHelper(helper, protocol, n++);
      assert.equal(answer.status, 200);
      assert.match(
        answer.body,
        new RegExp(`Parsing unknown value '${helper}' in 'helper', using default 'none'`),
      );
    }
  }
});
