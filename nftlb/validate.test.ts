// validateFarms on dsr farms: the shape proven with traffic (test/modes-traffic.test.ts) passes,
// anything nftlb would park in config_error, or write garbage into nft rules from, is refused.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { validateFarms } from "./validate.ts";
import type { FarmPatch } from "./serialize.ts";
import type { Farm } from "./types.ts";

const address = {
  name: "tcp-10.96.0.10-80",
  family: "ipv4",
  "ip-addr": "10.96.0.10",
  ports: "80",
  protocol: "tcp",
  iface: "eth0",
  "ether-addr": "52:54:00:12:34:56",
} as const;
const dsr: Farm = {
  name: "shop.web.http",
  family: "ipv4",
  mode: "dsr",
  protocol: "tcp",
  scheduler: "hash",
  "sched-param": "srcip srcport",
  persistence: "none",
  "persist-ttl": "60",
  helper: "none",
  log: "none",
  oface: "cni0",
  addresses: [address],
  backends: [{ name: "web-a", "ip-addr": "10.244.0.5", port: "", state: "up" }],
};
const check = (f: FarmPatch) => validateFarms([f], new Map());

describe("validateFarms: dsr", () => {
  it('the proven shape passes: iface + ether-addr on the address, oface on the farm, port ""', () => {
    assert.deepEqual(check(dsr), []);
  });
  it("a farm-level iface still counts for addresses without one", () => {
    const { iface: _, ...bare } = address;
    assert.deepEqual(check({ ...dsr, iface: "eth0", addresses: [bare] }), []);
  });
  const refused: [string, FarmPatch, RegExp][] = [
    ["no oface", { ...dsr, oface: undefined }, /needs oface/],
    ["oface with a space", { ...dsr, oface: "cni 0" }, /invalid oface/],
    ["no addresses sent with the mode", { name: dsr.name, mode: "dsr", oface: "cni0" }, /with its addresses/],
    [
      "address without iface",
      { ...dsr, addresses: [{ ...address, iface: undefined }] },
      /needs iface and ether-addr/,
    ],
    [
      "address without ether-addr",
      { ...dsr, addresses: [{ ...address, "ether-addr": undefined }] },
      /needs iface and ether-addr/,
    ],
    [
      "a MAC that is not one",
      { ...dsr, addresses: [{ ...address, "ether-addr": "52:54:00:12:34" }] },
      /invalid ether-addr/,
    ],
    [
      "the all-zero MAC",
      { ...dsr, addresses: [{ ...address, "ether-addr": "00:00:00:00:00:00" }] },
      /invalid ether-addr/,
    ],
    [
      "a MAC with junk",
      { ...dsr, addresses: [{ ...address, "ether-addr": "52:54:00:12:34:56; drop" }] },
      /invalid ether-addr/,
    ],
    [
      "an interface name too long",
      { ...dsr, addresses: [{ ...address, iface: "e".repeat(16) }] },
      /invalid interface name/,
    ],
    [
      "an interface name with a slash",
      { ...dsr, addresses: [{ ...address, iface: "eth0/1" }] },
      /invalid interface name/,
    ],
  ];
  for (const [name, farm, message] of refused) {
    it(`refused: ${name}`, () => {
      const problems = check(farm);
      assert.ok(
        problems.some((p) => message.test(p)),
        JSON.stringify(problems),
      );
    });
  }
  it("a patch without a mode (backends only) on a dsr farm needs no interfaces", () => {
    const known = new Map([[dsr.name, dsr]]);
    const patch = { name: dsr.name, backends: [{ name: "web-b", "ip-addr": "10.244.1.5", port: "" }] };
    assert.deepEqual(validateFarms([patch], known), []);
  });
});
