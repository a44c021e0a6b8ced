import { it } from "node:test";
import assert from "node:assert/strict";
import { editDistance, nearest } from "./suggest.ts";

it("edit distance", () => {
  assert.equal(editDistance("", ""), 0);
  assert.equal(editDistance("snat", "snat"), 0);
  assert.equal(editDistance("snat", "dnat"), 1);
  assert.equal(editDistance("schedular", "scheduler"), 1);
  assert.equal(editDistance("", "abc"), 3);
});

it("nearest offers plausible typos only", () => {
  const values = ["rr", "symhash", "hash-srcip", "hash-srcip-srcport"];
  const cases: [string, string | undefined][] = [
    ["RR", "rr"],
    [" rr ", "rr"],
    ["symhsh", "symhash"],
    ["hash", "hash-srcip"],
    ["hash-srcip-srcprt", "hash-srcip-srcport"],
    ["weighted", undefined],
    ["", undefined],
    ["x", undefined],
  ];
  for (const [input, want] of cases) assert.equal(nearest(input, values), want, input);
  assert.equal(nearest("anything", []), undefined);
});
