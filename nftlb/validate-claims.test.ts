// validateFarms on node-wide claims: one protocol + VIP + port in two farms is refused before
// sending (nft would refuse the second, and nftlb rebuild everything), whether the other farm is
// in the same batch or one nftlb already holds; a farm re-sending its own addresses is not.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { validateFarms } from "./validate.ts";
import { KnownFarms } from "./known-farms.ts";
import type { FarmPatch } from "./serialize.ts";
import type { Farm } from "./types.ts";
import { defaultFarm } from "./farm-fixture.test-helpers.ts";

const farm = (name: string, ip: string, ports: string): Farm =>
  defaultFarm(name, [{ name: `tcp-${ip}-${ports}`, family: "ipv4", "ip-addr": ip, ports, protocol: "tcp" }]);
// The same answers whether the other farms are walked (a plain map) or looked up (the client's
// KnownFarms, indexed by IP and farm mark, as upsertFarms validates).
for (const lookedUp of [false, true]) {
  const check = (batch: FarmPatch[], held: Farm[] = []) => {
    const known = new KnownFarms();
    for (const f of held) known.set(f.name, f);
    return lookedUp ? validateFarms(batch, known, known) : validateFarms(batch, new Map(known));
  };

  describe(`validateFarms: VIP:ports are node-wide (${lookedUp ? "looked up" : "walked"})`, () => {
    it("refuses a new farm on a VIP:port another farm of nftlb holds", () => {
      const problems = check(
        [farm("a.new.http", "10.96.0.1", "80")],
        [farm("a.old.http", "10.96.0.1", "80")],
      );
      assert.deepEqual(problems, ['farms "a.old.http" and "a.new.http" both claim tcp 10.96.0.1:80']);
    });
    it("refuses a port inside another farm's port range", () => {
      const problems = check(
        [farm("a.new.http", "10.96.0.1", "85")],
        [farm("a.old.http", "10.96.0.1", "80-90")],
      );
      assert.deepEqual(problems, ['farms "a.old.http" and "a.new.http" both claim tcp 10.96.0.1:85']);
    });
    it("refuses two farms of one batch on one VIP:port", () => {
      const problems = check([farm("a.one.http", "10.96.0.1", "80"), farm("a.two.http", "10.96.0.1", "80")]);
      assert.deepEqual(problems, ['farms "a.one.http" and "a.two.http" both claim tcp 10.96.0.1:80']);
    });
    it("admits other ports, other IPs, other protocols, and a farm sending its own address again", () => {
      const held = [farm("a.old.http", "10.96.0.1", "80"), farm("a.other.http", "10.96.0.2", "443")];
      const udp = { ...farm("a.dns.udp", "10.96.0.1", "80"), protocol: "udp" as const };
      udp.addresses = [{ ...udp.addresses[0]!, name: "udp-10.96.0.1-80", protocol: "udp" }];
      assert.deepEqual(
        check(
          [
            farm("a.new.http", "10.96.0.1", "81"),
            farm("a.b.http", "10.96.0.3", "80"),
            udp,
            farm("a.old.http", "10.96.0.1", "80"),
          ],
          held,
        ),
        [],
      );
    });
    it("refuses a farm changing its address onto a VIP:port another farm holds", () => {
      const held = [farm("a.old.http", "10.96.0.1", "80"), farm("a.b.http", "10.96.0.2", "80")];
      const moved: FarmPatch = { name: "a.b.http", addresses: [farm("x", "10.96.0.1", "80").addresses[0]!] };
      assert.deepEqual(check([moved], held), [
        'farms "a.old.http" and "a.b.http" both claim tcp 10.96.0.1:80',
      ]);
    });
  });
}
