import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { BUILTIN_DEFAULTS, fullKey, missingDefaults, parseDefaults, type Service } from "./index.ts";

const svc = (annotations: Record<string, string> = {}, protocol: "TCP" | "UDP" = "TCP"): Service => ({
  kind: "Service",
  metadata: { name: "a", annotations },
  spec: { ports: [{ port: 53, protocol }] },
});

describe("parseDefaults", () => {
  it("empty and null documents keep the built-in defaults", () => {
    assert.deepEqual(parseDefaults({}), { ok: true, defaults: BUILTIN_DEFAULTS });
    assert.deepEqual(parseDefaults(null), { ok: true, defaults: BUILTIN_DEFAULTS });
  });
  it("an operator can make symhash the default", () => {
    const r = parseDefaults({ scheduler: "symhash" });
    assert.ok(r.ok);
    assert.deepEqual(r.defaults, { ...BUILTIN_DEFAULTS, scheduler: "symhash" });
  });
  for (const bad of [
    { scheduler: "SYMHASH" },
    { persistence: "srcip" },
    { modes: "snat" },
    "scheduler: rr",
    [1],
    7,
  ]) {
    it(`refuses ${JSON.stringify(bad)} with a message`, () => {
      const r = parseDefaults(bad);
      assert.equal(r.ok, false);
      if (!r.ok) assert.match(r.error, /^invalid defaults: /);
    });
  }
});

describe("missingDefaults", () => {
  it("adds mode, scheduler, helper and log — never persistence", () => {
    assert.deepEqual(missingDefaults(svc(), BUILTIN_DEFAULTS), [
      [fullKey("mode"), "snat"],
      [fullKey("scheduler"), "rr"],
      [fullKey("helper"), "none"],
      [fullKey("log"), "none"],
    ]);
  });
  it("never overwrites a value the user set, even an invalid one", () => {
    const have = { [fullKey("mode")]: "dsr", [fullKey("scheduler")]: "BAD" };
    assert.deepEqual(
      missingDefaults(svc(have), BUILTIN_DEFAULTS).map(([k]) => k),
      [fullKey("helper"), fullKey("log")],
    );
  });
  it("nothing to add when all are present", () => {
    const all = Object.fromEntries(missingDefaults(svc(), BUILTIN_DEFAULTS));
    assert.deepEqual(missingDefaults(svc(all), BUILTIN_DEFAULTS), []);
  });
  it("a cluster helper default the Service's protocol cannot use is written as none", () => {
    const defaults = { ...BUILTIN_DEFAULTS, helper: "tftp" as const };
    assert.deepEqual(
      Object.fromEntries(missingDefaults(svc({}, "UDP"), defaults))[fullKey("helper")],
      "tftp",
    );
    assert.deepEqual(
      Object.fromEntries(missingDefaults(svc({}, "TCP"), defaults))[fullKey("helper")],
      "none",
    );
  });
});
