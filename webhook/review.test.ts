import { test } from "node:test";
import assert from "node:assert/strict";
import { agrees, REPLACEMENTS, variants } from "../annotations/conforms-agreement.test-helpers.ts";
import {
  allowed,
  denied,
  errored,
  parseReview,
  patched,
  review,
  reviewJson,
  reviewSchema,
} from "./review.ts";
import { admissionReview, request, service } from "./review-fixtures.test-helpers.ts";

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

test("the review's conformance check agrees with zod on every one-member change of a full AdmissionReview", () => {
  const full = admissionReview({
    ...request(service(), { operation: "UPDATE", oldObject: service(), uid: "u-1" }),
    dryRun: true,
  });
  const values = variants(full, [...REPLACEMENTS, "admission.k8s.io/v1", "AdmissionReview", "CREATE", "u"]);
  const { fast, zodOnly } = agrees(reviewSchema, values);
  // Both kinds are many: a wrong uid, apiVersion, kind or operation goes to zod; the objects are not read.
  assert.ok(fast > 100 && zodOnly > 100, `fast ${fast}, zod ${zodOnly}`);
  // And parseReview gives the same request, and the same refusal, whichever decided.
  for (const v of values) {
    const r = reviewSchema.safeParse(v);
    const parsed = parseReview(v);
    assert.equal(parsed.ok, r.success, JSON.stringify(v));
    if (parsed.ok && r.success) assert.deepStrictEqual(parsed.request, r.data.request);
  }
});
