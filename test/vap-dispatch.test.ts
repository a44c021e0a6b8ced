/* eslint-disable @typescript-eslint/no-unsafe-member-access -- API objects from the wire are plain JSON */
// ValidatingAdmissionPolicy semantics of the stand-in, over raw HTTPS: the denial text, reasons
// and codes, the message fallbacks, Warn and Audit, variables, matchConditions, matchConstraints,
// failurePolicy for evaluation errors, and paramKind refused as unsupported.
import assert from "node:assert/strict";
import { after, before, beforeEach, describe, it } from "node:test";
import { request } from "../lab/apiserver/client.ts";
import { startApiServer, type ApiServer } from "../lab/apiserver/index.ts";

let api: ApiServer;
const G = "/apis/admissionregistration.k8s.io/v1";
const AR = "admissionregistration.k8s.io/v1";
before(async () => {
  api = await startApiServer({});
});
after(() => api.stop());
beforeEach(async () => {
  await request(api, "DELETE", `${G}/validatingadmissionpolicies`);
  await request(api, "DELETE", `${G}/validatingadmissionpolicybindings`);
});

async function policy(
  spec: Record<string, unknown>,
  actions = ["Deny"],
  binding: Record<string, unknown> = {},
) {
  const rules = [
    { operations: ["CREATE", "UPDATE"], apiGroups: [""], apiVersions: ["v1"], resources: ["configmaps"] },
  ];
  const p = await request(api, "POST", `${G}/validatingadmissionpolicies`, {
    body: {
      apiVersion: AR,
      kind: "ValidatingAdmissionPolicy",
      metadata: { name: "p" },
      spec: { matchConstraints: { resourceRules: rules }, ...spec },
    },
  });
  assert.equal(p.status, 201, p.text);
  const b = await request(api, "POST", `${G}/validatingadmissionpolicybindings`, {
    body: {
      apiVersion: AR,
      kind: "ValidatingAdmissionPolicyBinding",
      metadata: { name: "b" },
      spec: { policyName: "p", validationActions: actions, ...binding },
    },
  });
  assert.equal(b.status, 201, b.text);
}
const cm = (name: string, data: Record<string, string> = {}) =>
  request(api, "POST", "/api/v1/namespaces/default/configmaps", {
    body: { apiVersion: "v1", kind: "ConfigMap", metadata: { name }, data },
  });
const refused = (name: string, msg: string) =>
  `configmaps "${name}" is forbidden: ValidatingAdmissionPolicy 'p' with binding 'b' denied request: ${msg}`;

describe("ValidatingAdmissionPolicy in the stand-in", () => {
  it("denies with the dispatcher's text, the validation's reason and its code", async () => {
    await policy({
      variables: [{ name: "v", expression: "has(object.data) && 'v' in object.data ? object.data.v : ''" }],
      validations: [
        {
          expression: "variables.v != 'bad'",
          messageExpression: "'v is ' + variables.v",
          reason: "Forbidden",
        },
      ],
    });
    const r = await cm("x", { v: "bad" });
    assert.equal(r.status, 403);
    assert.equal(r.json.reason, "Forbidden");
    assert.equal(r.json.message, refused("x", "v is bad"));
    assert.deepEqual(r.json.details, {
      name: "x",
      kind: "configmaps",
      causes: [{ message: "ValidatingAdmissionPolicy 'p' with binding 'b' denied request: v is bad" }],
    });
    assert.equal((await cm("y", { v: "good" })).status, 201);
  });

  it("falls back from messageExpression to message to the expression, with reason Invalid (422)", async () => {
    await policy({
      validations: [
        { expression: "object.metadata.name != 'a'", messageExpression: "1", message: " plain " },
        { expression: "object.metadata.name != 'b'", messageExpression: "'two\\nlines'" },
        { expression: " object.metadata.name != 'c' " },
      ],
    });
    const a = await cm("a");
    assert.equal(a.status, 422);
    assert.equal(a.json.reason, "Invalid");
    assert.equal(a.json.message, refused("a", "plain"));
    assert.equal(
      (await cm("b")).json.message,
      refused("b", "failed expression: object.metadata.name != 'b'"),
    );
    assert.equal(
      (await cm("c")).json.message,
      refused("c", "failed expression: object.metadata.name != 'c'"),
    );
  });

  it("warns with Warn, ignores Audit", async () => {
    await policy({ validations: [{ expression: "false", message: "nope" }] }, ["Warn", "Audit"]);
    const r = await cm("w");
    assert.equal(r.status, 201);
    assert.equal(
      r.headers.warning,
      `299 - "Validation failed for ValidatingAdmissionPolicy 'p' with binding 'b': nope"`,
    );
    await request(api, "DELETE", `${G}/validatingadmissionpolicybindings/b`);
    await request(api, "DELETE", `${G}/validatingadmissionpolicies/p`);
    await policy({ validations: [{ expression: "false", message: "nope" }] }, ["Audit"]);
    const q = await cm("q");
    assert.equal(q.status, 201);
    assert.equal(q.headers.warning, undefined);
  });

  it("skips requests its matchConditions, constraints or binding do not match", async () => {
    await policy(
      {
        matchConditions: [{ name: "named", expression: "object.metadata.name.startsWith('m-')" }],
        validations: [{ expression: "false", message: "caught" }],
      },
      ["Deny"],
      { matchResources: { objectSelector: { matchLabels: { check: "me" } } } },
    );
    assert.equal((await cm("free")).status, 201, "matchCondition false");
    assert.equal((await cm("m-unlabelled")).status, 201, "binding's objectSelector");
    const r = await request(api, "POST", "/api/v1/namespaces/default/configmaps", {
      body: { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "m-x", labels: { check: "me" } } },
    });
    assert.equal(r.json.message, refused("m-x", "caught"));
    const s = await request(api, "POST", "/api/v1/namespaces/default/secrets", {
      body: { apiVersion: "v1", kind: "Secret", metadata: { name: "m-s", labels: { check: "me" } } },
    });
    assert.equal(s.status, 201, "matchConstraints: configmaps only");
  });

  it("applies failurePolicy to evaluation errors, and refuses paramKind as unsupported", async () => {
    const bad = [{ expression: "object.data.missing == 'x'" }];
    await policy({ failurePolicy: "Fail", validations: bad });
    const r = await cm("e", { v: "1" });
    assert.equal(r.status, 422);
    assert.equal(
      r.json.message,
      refused("e", "expression 'object.data.missing == 'x'' resulted in error: no such key: missing"),
    );
    await request(api, "DELETE", `${G}/validatingadmissionpolicies/p`);
    await request(api, "DELETE", `${G}/validatingadmissionpolicybindings/b`);
    await policy({ failurePolicy: "Ignore", validations: bad });
    assert.equal((await cm("i", { v: "1" })).status, 201);
    await request(api, "DELETE", `${G}/validatingadmissionpolicies/p`);
    await request(api, "DELETE", `${G}/validatingadmissionpolicybindings/b`);
    await policy({
      paramKind: { apiVersion: "v1", kind: "ConfigMap" },
      validations: [{ expression: "true" }],
    });
    assert.equal(
      (await cm("pk")).json.message,
      refused("pk", "failed to configure binding: paramKind is not supported by the lab API server"),
    );
  });
});
