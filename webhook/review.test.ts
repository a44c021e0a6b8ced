import { test } from "node:test";
import assert from "node:assert/strict";
import { allowed, denied, errored, patched, review, reviewJson } from "./review.ts";

test("reviewJson writes exactly what JSON.stringify(review(…)) writes, whatever the uid and messages hold", () => {
  const odd = 'a"b\\c\u0000\u2028</script>é😀';
  for (const response of [
    allowed("plain"),
    allowed(odd, ["a warning", odd]),
    denied(odd, `refused: ${odd}`),
    errored("", 400, odd),
    patched("p", [{ op: "add", path: "/metadata/annotations/a~1b", value: odd }]),
  ])
    assert.equal(reviewJson(response), JSON.stringify(review(response)));
});
