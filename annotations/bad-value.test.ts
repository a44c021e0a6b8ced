// A value in the wrong key names the key it belongs to (#17): through evaluateService, as the
// webhook, the syncer, lint and render all see it.
import { it } from "node:test";
import assert from "node:assert/strict";
import { evaluateService, fullKey, type Service } from "./index.ts";
import { keysAccepting } from "./bad-value.ts";

const message = (suffix: string, value: string): string => {
  const service: Service = {
    kind: "Service",
    metadata: { name: "web", namespace: "shop", annotations: { [fullKey(suffix)]: value } },
    spec: { clusterIP: "10.96.0.1", ports: [{ port: 80, protocol: "TCP" }] },
  };
  const errors = evaluateService(service).errors;
  assert.equal(errors.length, 1, JSON.stringify(errors));
  return errors[0]!.message;
};
const K = fullKey;

it("a value another key accepts names that key, and suggests it", () => {
  const cases: [string, string, string][] = [
    // The original kube-nftlb README's scheduler section, under the persistence key:
    [
      "persistence",
      "symhash",
      `that is a value of ${K("scheduler")}, not of persistence; did you mean ${K("scheduler")}: "symhash"?`,
    ],
    [
      "persistence",
      "hash-srcip",
      `that is a value of ${K("scheduler")}, not of persistence; did you mean ${K("scheduler")}: "hash-srcip"?`,
    ],
    // Not the persistence "srcip-srcport" edit distance would offer: a different feature.
    [
      "persistence",
      "hash-srcip-srcport",
      `that is a value of ${K("scheduler")}, not of persistence; did you mean ${K("scheduler")}: "hash-srcip-srcport"?`,
    ],
    [
      "scheduler",
      "srcip",
      `that is a value of ${K("persistence")}, not of scheduler; did you mean ${K("persistence")}: "srcip"?`,
    ],
    [
      "scheduler",
      "DSR",
      `that is a value of ${K("mode")}, not of scheduler; did you mean ${K("mode")}: "dsr"?`,
    ],
    [
      "helper",
      "forward",
      `that is a value of ${K("log")}, not of helper; did you mean ${K("log")}: "forward"?`,
    ],
    ["mode", "none", `that is a value of ${K("persistence")}, ${K("helper")} and ${K("log")}, not of mode`],
  ];
  for (const [suffix, value, want] of cases) {
    const m = message(suffix, value);
    assert.ok(m.startsWith(`invalid value ${JSON.stringify(value)}: ${want}`), `${suffix}: ${value}\n${m}`);
    assert.doesNotMatch(m, /did you mean "srcip-srcport"/);
  }
});

it("a typo of its own key's value is still offered first; a typo of another key's names that key", () => {
  const cases: [string, string, RegExp][] = [
    ["persistence", "srcip-port", /; did you mean "srcip-srcport"\? Valid values: none, srcip,/],
    ["scheduler", "symhsh", /; did you mean "symhash"\?/],
    [
      "persistence",
      "symhsh",
      new RegExp(`; did you mean ${K("scheduler")}: "symhash" \\(a scheduler, not a persistence\\)\\?`),
    ],
    ["helper", "outptu", new RegExp(`; did you mean ${K("log")}: "output" \\(a log, not a helper\\)\\?`)],
    [
      "scheduler",
      "weighted",
      /^invalid value "weighted"\. Valid values: rr, symhash, hash-srcip, hash-srcip-srcport$/,
    ],
  ];
  for (const [suffix, value, want] of cases)
    assert.match(message(suffix, value), want, `${suffix}: ${value}`);
});

it("keysAccepting: the other keys only, case and spaces aside", () => {
  assert.deepEqual(keysAccepting(" SymHash ", "persistence"), ["scheduler"]);
  assert.deepEqual(keysAccepting("symhash", "scheduler"), []);
  assert.deepEqual(keysAccepting("none", "mode"), ["persistence", "helper", "log"]);
  assert.deepEqual(keysAccepting("weighted", "scheduler"), []);
});
