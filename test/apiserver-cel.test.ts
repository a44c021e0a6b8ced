/* eslint-disable @typescript-eslint/no-unsafe-member-access, @typescript-eslint/no-unsafe-argument -- API objects from the wire are plain JSON */
// matchConditions (CEL) on admission webhooks, as kube-apiserver evaluates them: the webhook is
// called only when every condition is true; an evaluation error fails the request with the real
// text under failurePolicy Fail and skips the webhook under Ignore; `authorizer` is unsupported.
import assert from "node:assert/strict";
import { after, before, beforeEach, describe, it } from "node:test";
import { request } from "../lab/apiserver/client.ts";
import { startApiServer, type ApiServer } from "../lab/apiserver/index.ts";
import { startTestWebhook, type TestWebhook } from "../lab/apiserver/test-webhook.ts";

let api: ApiServer;
let hook: TestWebhook;
const MWC = "/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations";
const VWC = "/apis/admissionregistration.k8s.io/v1/validatingwebhookconfigurations";
const PREFIX = "service.kubernetes.io/kube-nftlb-load-balancer-";
// deploy/webhook/validating-webhook.yaml's condition, verbatim
const OURS = `has(object.metadata.annotations) && object.metadata.annotations.exists(k, k.startsWith("${PREFIX}"))`;

before(async () => {
  api = await startApiServer({ resolveService: (s) => (s.name === "hook" ? hook.url : undefined) });
  hook = await startTestWebhook({
    ca: api.ca,
    dnsName: "hook.webhooks.svc",
    decide: () => ({ allowed: true }),
  });
});
after(async () => {
  await hook.close();
  await api.stop();
});
beforeEach(async () => {
  hook.reviews.length = 0;
  await request(api, "DELETE", MWC);
  await request(api, "DELETE", VWC);
});

const kindOf = (url: string) =>
  url === MWC ? "MutatingWebhookConfiguration" : "ValidatingWebhookConfiguration";

/** POSTs a configuration with one webhook on ConfigMaps and these matchConditions. */
const post = (url: string, conditions: unknown[], extra: Record<string, unknown> = {}) =>
  request(api, "POST", url, {
    body: {
      apiVersion: "admissionregistration.k8s.io/v1",
      kind: kindOf(url),
      metadata: { name: "cel" },
      webhooks: [
        {
          name: "cel.lab.example.com",
          admissionReviewVersions: ["v1"],
          sideEffects: "None",
          clientConfig: {
            caBundle: Buffer.from(api.ca.cert).toString("base64"),
            service: { namespace: "webhooks", name: "hook", path: "/hook" },
          },
          rules: [{ operations: ["*"], apiGroups: [""], apiVersions: ["v1"], resources: ["configmaps"] }],
          matchConditions: conditions,
          ...extra,
        },
      ],
    },
  });

async function register(url: string, conditions: unknown[], extra: Record<string, unknown> = {}) {
  const r = await post(url, conditions, extra);
  assert.equal(r.status, 201, r.text);
}
const cm = (name: string, annotations?: Record<string, string>, data?: Record<string, string>) =>
  request(api, "POST", "/api/v1/namespaces/default/configmaps", {
    body: { apiVersion: "v1", kind: "ConfigMap", metadata: { name, annotations }, data },
  });
const called = () => hook.reviews.map((r) => (r.review.request as { name: string }).name);

describe("webhook matchConditions", () => {
  it("calls a validating webhook only for objects the shipped condition matches", async () => {
    await register(VWC, [{ name: "has-kube-nftlb-annotations", expression: OURS }]);
    assert.equal((await cm("bare")).status, 201);
    assert.equal((await cm("other", { "example.com/x": "1" })).status, 201);
    assert.equal((await cm("ours", { [`${PREFIX}mode`]: "snat" })).status, 201);
    assert.equal((await cm("typo", { [`${PREFIX}schedular`]: "rr" })).status, 201);
    assert.deepEqual(called(), ["ours", "typo"]);
  });

  it("needs every condition true, for mutating webhooks too, and sees oldObject and request", async () => {
    await register(MWC, [
      { name: "update", expression: "request.operation == 'UPDATE'" },
      { name: "changed", expression: "oldObject.data.v != object.data.v" },
    ]);
    assert.equal((await cm("m", undefined, { v: "1" })).status, 201);
    const put = (v: string) =>
      request(api, "PATCH", "/api/v1/namespaces/default/configmaps/m", {
        body: { data: { v } },
        contentType: "application/merge-patch+json",
      });
    assert.equal((await put("1")).status, 200);
    assert.equal((await put("2")).status, 200);
    assert.deepEqual(called(), ["m"], "called once: the UPDATE that changed the value");
    assert.equal((hook.reviews[0]?.review.request as { operation: string }).operation, "UPDATE");
  });

  it("fails the request with the real text when a condition errs under failurePolicy Fail", async () => {
    await register(VWC, [{ name: "missing", expression: "object.data.v == 'x'" }], { failurePolicy: "Fail" });
    const r = await cm("nodata");
    assert.equal(r.status, 403);
    assert.equal(r.json.reason, "Forbidden");
    assert.equal(
      r.json.message,
      `configmaps "nodata" is forbidden: expression 'object.data.v == 'x'' resulted in error: no such key: data`,
    );
    assert.deepEqual(called(), []);
    assert.equal((await request(api, "GET", "/api/v1/namespaces/default/configmaps/nodata")).status, 404);
  });

  it("skips the webhook when a condition errs under failurePolicy Ignore", async () => {
    await register(VWC, [{ name: "missing", expression: "object.data.v == 'x'" }], {
      failurePolicy: "Ignore",
    });
    assert.equal((await cm("skipped")).status, 201);
    assert.equal((await cm("called", undefined, { v: "x" })).status, 201);
    assert.deepEqual(called(), ["called"]);
  });

  it("lets a false condition win over another's error, and aggregates several errors", async () => {
    await register(VWC, [
      { name: "err", expression: "object.data.v == 'x'" },
      { name: "no", expression: "false" },
    ]);
    assert.equal((await cm("false-wins")).status, 201);
    await request(api, "DELETE", VWC);
    await register(VWC, [
      { name: "a", expression: "object.nope" },
      { name: "b", expression: "1/0 == 1" },
    ]);
    const r = await cm("two-errors");
    assert.equal(
      r.json.message,
      `configmaps "two-errors" is forbidden: [expression 'object.nope' resulted in error: no such key: nope, ` +
        `expression '1/0 == 1' resulted in error: division by zero]`,
    );
    assert.deepEqual(called(), []);
  });

  it("treats authorizer as an error under failurePolicy, and an overload error at run time too", async () => {
    for (const [expression, error] of [
      ["authorizer.group('').resource('configmaps').check('get').allowed()", /authorizer is not supported/],
      ["object.metadata.name + 1 == 2", /resulted in error: no such overload/],
    ] as const) {
      await request(api, "DELETE", VWC);
      await register(VWC, [{ name: "odd", expression }]);
      const r = await cm("odd");
      assert.equal(r.status, 403, expression);
      assert.match(r.json.message, /^configmaps "odd" is forbidden: expression '.*' resulted in error: /);
      assert.match(r.json.message, error);
    }
    assert.deepEqual(called(), []);
  });

  it("refuses at write time a configuration whose matchCondition does not compile", async () => {
    const cases = [
      ["object.metadata.name ==", /compilation failed: /],
      [")))", /compilation failed: /],
      ["'a' + 1 == 'a1'", /compilation failed: no such overload/],
      // namespaceObject, params and variables are a policy's, not a webhook's
      ["namespaceObject.metadata.name == 'x'", /compilation failed: .*namespaceObject/],
      ["'not a bool'", /compilation failed: cel expression must evaluate to a bool/],
      ["  ", /Required value/],
    ] as const;
    for (const url of [VWC, MWC]) {
      for (const [expression, why] of cases) {
        const r = await post(url, [
          { name: "ok", expression: "true" },
          { name: "bad", expression },
        ]);
        const kind = kindOf(url);
        assert.equal(r.status, 422, `${kind} ${expression}: ${r.text}`);
        assert.equal(r.json.reason, "Invalid");
        assert.match(r.json.message, /webhooks\[0\]\.matchConditions\[1\]\.expression: /);
        assert.match(r.json.message, why, expression);
      }
    }
    // The shipped expression compiles (test/webhook-deploy.test.ts evaluates it).
    await register(VWC, [{ name: "has-kube-nftlb-annotations", expression: OURS }]);
  });
});
