// validateFarms on marks and renames: what nft would refuse (two live backends of a farm on one
// mark, two farms on one farm mark) or nftlb would silently ignore (marks out of range) is
// refused before sending; a rename is checked as the backend it becomes.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { mergeBackends, validateFarms } from "./validate.ts";
import { KnownFarms } from "./known-farms.ts";
import type { FarmPatch } from "./serialize.ts";
import type { Backend, Farm } from "./types.ts";
import { defaultFarm } from "./farm-fixture.test-helpers.ts";

const backend = (i: number, mark: string, state: Backend["state"] = "up"): Backend => ({
  name: `web-${i}`,
  "ip-addr": `10.244.0.${i}`,
  port: "8080",
  mark,
  state,
});
const farm = (name: string, backends: Backend[], mark?: string): Farm =>
  defaultFarm(
    name,
    [
      {
        name: `${name}-a`,
        family: "ipv4",
        "ip-addr": `10.96.0.${name.charCodeAt(2)}`,
        ports: "80",
        protocol: "tcp",
      },
    ],
    backends,
    mark ? { mark } : {},
  );
// Walked (a plain map) and looked up (the client's KnownFarms): the same answers.
for (const lookedUp of [false, true]) {
  const check = (batch: FarmPatch[], held: Farm[] = []) => {
    const known = new KnownFarms();
    for (const f of held) known.set(f.name, f);
    return lookedUp ? validateFarms(batch, known, known) : validateFarms(batch, new Map(known));
  };

  describe(`validateFarms: marks (${lookedUp ? "looked up" : "walked"})`, () => {
    it("marks 0x002-0xfff, one per live backend, pass; marks repeat across farms", () => {
      assert.deepEqual(check([farm("a.b.c", [backend(1, "0x002"), backend(2, "0xfff")], "0x1000")]), []);
      assert.deepEqual(
        check(
          [farm("a.d.c", [backend(1, "0x002")], "0x2000")],
          [farm("a.b.c", [backend(1, "0x002")], "0x1000")],
        ),
        [],
      );
    });
    const refused: [string, FarmPatch[], Farm[], RegExp][] = [
      ["0x001 (nftlb's own first pick)", [farm("a.b.c", [backend(1, "0x001")])], [], /invalid mark "0x001"/],
      ["past 0xfff (nftlb ignores it)", [farm("a.b.c", [backend(1, "0x1000")])], [], /invalid mark/],
      ["not hex", [farm("a.b.c", [backend(1, "12")])], [], /invalid mark "12"/],
      ["garbage", [farm("a.b.c", [backend(1, '0x2"}]')])], [], /invalid mark/],
      [
        "two live backends on one mark",
        [farm("a.b.c", [backend(1, "0x002"), backend(2, "0x002")])],
        [],
        /share mark 0x002/,
      ],
      [
        "a new backend on the mark of a live one nftlb has",
        [{ name: "a.b.c", backends: [backend(2, "0x002")] }],
        [farm("a.b.c", [backend(1, "0x002")])],
        /"web-1" and "web-2" share mark 0x002/,
      ],
      ["a farm mark not on a 0x1000 step", [farm("a.b.c", [], "0x1001")], [], /invalid farm mark/],
      ["a farm mark on the masquerade bit", [farm("a.b.c", [], "0x80000000")], [], /invalid farm mark/],
      [
        "two farms on one farm mark",
        [farm("a.d.c", [], "0x1000")],
        [farm("a.b.c", [], "0x1000")],
        /share farm mark 0x1000/,
      ],
      [
        "a rename to a bad name",
        [{ name: "a.b.c", backends: [{ name: "web-1", newname: "web 9" }] }],
        [farm("a.b.c", [backend(1, "0x002")])],
        /invalid new name/,
      ],
    ];
    for (const [name, batch, known, re] of refused) {
      it(`refuses ${name}`, () => {
        const problems = check(batch, known);
        assert.ok(
          problems.some((p) => re.test(p)),
          problems.join("; ") || "no problem found",
        );
      });
    }
    it("a down backend's mark may be taken by a live one (nft never sees the down one)", () => {
      assert.deepEqual(
        check(
          [{ name: "a.b.c", backends: [{ name: "web-1", state: "down" }, backend(2, "0x002")] }],
          [farm("a.b.c", [backend(1, "0x002")])],
        ),
        [],
      );
    });
    it("4,095 live backends in one farm are refused: marks run out", () => {
      const many = Array.from({ length: 4095 }, (_, i) => ({ ...backend(i, "0x002"), mark: undefined }));
      assert.ok(check([farm("a.b.c", many)]).some((p) => /4095 backends; a farm holds at most 4094/.test(p)));
    });
    it("mergeBackends follows renames in order", () => {
      const merged = mergeBackends(
        [backend(1, "0x002"), backend(2, "0x003")],
        [
          { name: "web-1", state: "down" },
          { name: "web-1", newname: "web-7", "ip-addr": "10.244.0.7", state: "up" },
        ],
      );
      assert.deepEqual(
        merged.map((b) => [b.name, b["ip-addr"], b.mark, b.state]),
        [
          ["web-2", "10.244.0.2", "0x003", "up"],
          ["web-7", "10.244.0.7", "0x002", "up"],
        ],
      );
    });
  });
}
