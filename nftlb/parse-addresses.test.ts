// GET /addresses read for what the syncer is about to claim: an answer that mentions none of the
// claimed names and IPs is [] without being parsed; one that mentions any of them, anywhere, is
// parsed whole (the caller decides who holds what); an answer that is not an address list is
// refused whatever it mentions.
import { test } from "node:test";
import assert from "node:assert/strict";
import { parseAddresses } from "./parse.ts";

/** As nftlb 1.0.7 prints it: tab-indented, every value a string. */
const answer = (...objects: { name: string; ip: string; ports?: string; prefix?: string }[]) =>
  JSON.stringify(
    {
      addresses: objects.map((o) => ({
        name: o.name,
        family: "ipv4",
        "ip-addr": o.ip,
        ports: o.ports ?? "80",
        protocol: "tcp",
        verdict: "log drop accept",
        ...(o.prefix !== undefined ? { "log-prefix": o.prefix } : {}),
        "log-rtlimit": "0/second",
        used: "1",
        policies: [],
      })),
    },
    null,
    "\t",
  );

const present = answer(
  { name: "tcp-10.96.0.1-80", ip: "10.96.0.1" },
  { name: "tcp-10.96.0.10-80", ip: "10.96.0.10" },
  { name: "lb01-addr", ip: "192.168.0.7", ports: "443" },
);

test("an answer mentioning none of the claimed names or IPs is empty", () => {
  const r = parseAddresses(present, ["tcp-10.96.0.2-80", "10.96.0.2"]);
  assert.deepEqual(r, { ok: true, value: [] });
});

test("an IP is a whole string: 10.96.0.1 is not mentioned by 10.96.0.10", () => {
  const r = parseAddresses(answer({ name: "tcp-10.96.0.10-80", ip: "10.96.0.10" }), ["10.96.0.1"]);
  assert.deepEqual(r, { ok: true, value: [] });
});

test("an answer mentioning a claimed IP is parsed whole", () => {
  const r = parseAddresses(present, ["tcp-192.168.0.7-80", "192.168.0.7"]);
  assert.ok(r.ok);
  assert.deepEqual(
    r.value.map((a) => [a.name, a["ip-addr"], a.ports, a.used]),
    [
      ["tcp-10.96.0.1-80", "10.96.0.1", "80", 1],
      ["tcp-10.96.0.10-80", "10.96.0.10", "80", 1],
      ["lb01-addr", "192.168.0.7", "443", 1],
    ],
  );
});

test("a claimed name mentioned anywhere, even in another field, is parsed", () => {
  const body = answer({ name: "handmade", ip: "10.0.9.9", prefix: "tcp-10.96.0.2-80" });
  const r = parseAddresses(body, ["tcp-10.96.0.2-80", "10.96.0.2"]);
  assert.ok(r.ok);
  assert.equal(r.value.length, 1);
});

test("without claims, or with too many to search for, everything is parsed", () => {
  assert.equal((parseAddresses(present) as { value: unknown[] }).value.length, 3);
  const many = Array.from({ length: 40 }, (_, i) => `10.1.0.${i}`);
  assert.equal((parseAddresses(present, many) as { value: unknown[] }).value.length, 3);
});

test("an answer that is not a whole address list is refused, mentioned or not", () => {
  for (const body of [present.slice(0, 200), '{"farms": []}', "garbage"]) {
    const r = parseAddresses(body, ["10.96.0.2"]);
    assert.equal(r.ok, false, body);
  }
});
