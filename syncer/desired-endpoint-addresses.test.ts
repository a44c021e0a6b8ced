// Issue #16 item 4: one endpoint address on two ports is two backends, and addresses that are no
// unicast Pod address never become backends (a warning says so).
import { test } from "node:test";
import assert from "node:assert/strict";
import { desired } from "./desired.ts";
import { NODE, service, slice } from "./desired-fixtures.test-helpers.ts";
import { notUnicast } from "./endpoint-addresses.ts";

const backendsOf = (slices: unknown[]) =>
  (desired(service(), slices, NODE).farms[0]?.backends ?? []).map(
    (b) => `${b.name}=${b["ip-addr"]}:${b.port}`,
  );

test("two hostNetwork Pods on one node (one address, two ports, two slices) are two backends", () => {
  const slices = [
    slice("web-1", [{ ip: "192.168.1.10", pod: "web-a" }], {
      ports: [{ name: "http", port: 8080, protocol: "TCP" }],
    }),
    slice("web-2", [{ ip: "192.168.1.10", pod: "web-b" }], {
      ports: [{ name: "http", port: 8081, protocol: "TCP" }],
    }),
  ];
  assert.deepEqual(backendsOf(slices), ["web-a=192.168.1.10:8080", "web-b=192.168.1.10:8081"]);
});

test("one selector-less address on two ports: two backends with distinct names", () => {
  const slices = [
    slice("web-1", [{ ip: "10.0.0.5" }], { ports: [{ name: "http", port: 8080, protocol: "TCP" }] }),
    slice("web-2", [{ ip: "10.0.0.5" }], { ports: [{ name: "http", port: 8081, protocol: "TCP" }] }),
  ];
  const got = backendsOf(slices);
  assert.equal(got.length, 2, got.join(", "));
  assert.equal(new Set(got.map((b) => b.split("=")[0])).size, 2, `names repeat: ${got.join(", ")}`);
  assert.deepEqual(got.map((b) => b.split("=")[1]).sort(), ["10.0.0.5:8080", "10.0.0.5:8081"]);
});

test("the same address and port in two slices (a moment of overlap) is still one backend", () => {
  const slices = [
    slice("web-1", [{ ip: "10.244.0.5", pod: "web-a" }]),
    slice("web-2", [{ ip: "10.244.0.5", pod: "web-a" }]),
  ];
  assert.deepEqual(backendsOf(slices), ["web-a=10.244.0.5:8080"]);
});

test("non-unicast and reserved endpoint addresses are dropped, each with a warning", () => {
  const bad = ["0.0.0.0", "127.0.0.1", "169.254.10.1", "224.0.0.251", "255.255.255.255"];
  const d = desired(
    service(),
    [slice("web-1", [{ ip: "10.244.0.5", pod: "web-a" }, ...bad.map((ip) => ({ ip }))])],
    NODE,
  );
  assert.deepEqual(
    d.farms[0]?.backends.map((b) => b["ip-addr"]),
    ["10.244.0.5"],
  );
  for (const ip of bad)
    assert.ok(
      d.problems.some((p) => p.severity === "warning" && p.message.includes(`endpoint address ${ip} `)),
      `a warning for ${ip}: ${JSON.stringify(d.problems)}`,
    );
});

test("notUnicast: the classes kube-apiserver refuses, both families; Pod and node addresses pass", () => {
  const cases: [string, "ipv4" | "ipv6", string | undefined][] = [
    ["0.0.0.0", "ipv4", "unspecified"],
    ["127.0.0.53", "ipv4", "loopback"],
    ["169.254.169.254", "ipv4", "link-local"],
    ["239.1.2.3", "ipv4", "multicast"],
    ["255.255.255.255", "ipv4", "broadcast"],
    ["::", "ipv6", "unspecified"],
    ["::1", "ipv6", "loopback"],
    ["fe80::1", "ipv6", "link-local"],
    ["ff02::fb", "ipv6", "multicast"],
    ["10.244.0.5", "ipv4", undefined],
    ["192.168.1.10", "ipv4", undefined],
    ["fd00::5", "ipv6", undefined],
    ["2001:db8::1", "ipv6", undefined],
  ];
  for (const [ip, family, want] of cases) assert.equal(notUnicast(ip, family), want, ip);
});
