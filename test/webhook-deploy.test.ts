// deploy/webhook/: the webhook configurations say what docs/webhook.md says, and the
// ValidatingAdmissionPolicy's value lists are exactly the annotation contract's.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parse, parseAllDocuments } from "yaml";
import {
  DSR_SCHEDULERS,
  HELPER_PROTOCOLS,
  KEYS,
  UNIMPLEMENTED_HELPERS,
  KEY_SUFFIXES,
} from "../annotations/index.ts";
import { toCel } from "../lab/apiserver/cel.ts";
import { matchConditions, type MatchCondition } from "../lab/apiserver/cel-conditions.ts";
import { validate } from "../webhook/validate.ts";
import { key, request, service } from "../webhook/review-fixtures.test-helpers.ts";

const dir = join(import.meta.dirname, "..", "deploy", "webhook");
const load = (f: string): Record<string, unknown> =>
  parse(readFileSync(join(dir, f), "utf8")) as Record<string, unknown>;

interface Hook {
  name: string;
  admissionReviewVersions: string[];
  sideEffects: string;
  failurePolicy: string;
  timeoutSeconds: number;
  clientConfig: {
    service: { namespace: string; name: string; path: string; port: number };
    caBundle?: string;
  };
  rules: { apiGroups: string[]; apiVersions: string[]; resources: string[]; operations: string[] }[];
  namespaceSelector: { matchExpressions: { key: string; operator: string; values: string[] }[] };
}

for (const [file, kind, path, policy] of [
  ["mutating-webhook.yaml", "MutatingWebhookConfiguration", "/mutate", "Ignore"],
  ["validating-webhook.yaml", "ValidatingWebhookConfiguration", "/validate", "Fail"],
] as const) {
  test(`${file}: Services on CREATE/UPDATE, v1, no side effects, short timeout, ${policy}, system namespaces excluded`, () => {
    const doc = load(file);
    assert.equal(doc.kind, kind);
    assert.equal((doc.metadata as { name: string }).name, "kube-nftlb"); // what deploy/certs patches
    const [hook, ...more] = doc.webhooks as Hook[];
    assert.ok(hook);
    assert.equal(more.length, 0);
    assert.deepEqual(hook.admissionReviewVersions, ["v1"]);
    assert.equal(hook.sideEffects, "None");
    assert.equal(hook.failurePolicy, policy);
    assert.ok(hook.timeoutSeconds >= 1 && hook.timeoutSeconds <= 5);
    assert.deepEqual(hook.clientConfig.service, {
      namespace: "kube-nftlb",
      name: "kube-nftlb-webhook",
      path,
      port: 443,
    });
    assert.equal(hook.clientConfig.caBundle, undefined, "caBundle belongs to the certs command");
    assert.deepEqual(
      hook.rules.map((r) => [r.apiGroups, r.apiVersions, r.resources, r.operations]),
      [[[""], ["v1"], ["services"], ["CREATE", "UPDATE"]]],
    );
    assert.deepEqual(hook.namespaceSelector.matchExpressions, [
      { key: "kubernetes.io/metadata.name", operator: "NotIn", values: ["kube-system", "kube-nftlb"] },
    ]);
  });
}

test("the ValidatingAdmissionPolicy enforces exactly the contract's value sets and helper matrix", () => {
  const [policy, binding] = parseAllDocuments(
    readFileSync(join(dir, "policy", "validating-admission-policy.yaml"), "utf8"),
  ).map((d) => d.toJS() as { kind: string; spec: Record<string, unknown> });
  assert.equal(policy?.kind, "ValidatingAdmissionPolicy");
  assert.equal(binding?.kind, "ValidatingAdmissionPolicyBinding");
  assert.equal(binding.spec.policyName, "kube-nftlb-annotations");
  assert.deepEqual(binding.spec.validationActions, ["Deny"]);
  const cel = JSON.stringify(policy.spec);
  const list = (values: readonly string[]): string => `[${values.map((v) => `'${v}'`).join(", ")}]`;
  assert.ok(cel.includes(list(KEY_SUFFIXES)), "known keys");
  for (const suffix of KEY_SUFFIXES) {
    assert.ok(cel.includes(list(KEYS[suffix].values)), `values of ${suffix}`);
    assert.ok(cel.includes(`Valid values: ${KEYS[suffix].values.join(", ")}`), `message of ${suffix}`);
  }
  assert.ok(cel.includes(list(UNIMPLEMENTED_HELPERS)), "unimplemented helpers");
  assert.ok(
    cel.includes(`variables.ann[variables.p + 'scheduler'] in ${list(DSR_SCHEDULERS)}`),
    "dsr schedulers",
  );
  const only = (protocols: string[]) =>
    Object.entries(HELPER_PROTOCOLS)
      .filter(([, p]) => p.join() === protocols.join())
      .map(([h]) => h);
  assert.ok(
    cel.includes(`variables.helper in ${list(only(["TCP"]))} ? variables.protocols.all(x, x == 'TCP')`),
  );
  assert.ok(
    cel.includes(`variables.helper in ${list(only(["UDP"]))} ? variables.protocols.all(x, x == 'UDP')`),
  );
  assert.deepEqual(only(["TCP", "UDP"]), ["sip"]);
  assert.ok(cel.includes(`variables.helper == 'sip' ? variables.protocols.all(x, x in ['TCP', 'UDP'])`));
});

/** The validating webhook's matchConditions, evaluated by the lab's CEL as kube-apiserver does. */
function calls(old: Record<string, unknown> | null, now: Record<string, unknown>): boolean {
  const hook = (load("validating-webhook.yaml").webhooks as { matchConditions: MatchCondition[] }[])[0];
  const operation = old === null ? "CREATE" : "UPDATE";
  const vars = { object: toCel(now), oldObject: toCel(old), request: toCel({ operation }) };
  const r = matchConditions(hook?.matchConditions, "Fail", vars);
  assert.ok("matches" in r, JSON.stringify(r));
  return r.matches;
}

test("validating-webhook.yaml skips UPDATEs that leave what validation judges unchanged, and only those", () => {
  const hook = (load("validating-webhook.yaml").webhooks as { matchConditions: MatchCondition[] }[])[0];
  assert.deepEqual(
    hook?.matchConditions.map((c) => c.name),
    ["has-kube-nftlb-annotations", "changes-what-validation-judges"],
  );
  const PROXY = "service.kubernetes.io/service-proxy-name";
  const defaulted = { [key("mode")]: "snat", [key("scheduler")]: "rr", [key("log")]: "none" };
  // Stored with an error (from before the webhook): only a change may be refused for it.
  const had = { ...defaulted, [key("log")]: "everything" };
  const stored = service({ annotations: had, labels: { app: "web" } });
  const port = (targetPort: unknown) => ({
    ports: [{ name: "http", protocol: "TCP", port: 80, targetPort }],
  });
  const skipped = [
    ["relabelled", service({ annotations: had, labels: { app: "web", team: "x" } })],
    [
      "another tool's annotation",
      service({
        annotations: { ...had, "x/y": "1" },
        labels: { app: "web" },
      }),
    ],
  ] as const;
  const judged = [
    [
      "an annotation changed",
      service({ annotations: { ...defaulted, [key("log")]: "output" }, labels: { app: "web" } }),
    ],
    [
      "an annotation added",
      service({
        annotations: { ...had, [key("helper")]: "ftp" },
        labels: { app: "web" },
      }),
    ],
    [
      "an annotation removed",
      service({ annotations: { [key("mode")]: "snat", [key("log")]: "everything" }, labels: { app: "web" } }),
    ],
    ["spec changed", service({ annotations: had, labels: { app: "web" }, spec: port(8081) })],
    ["targetPort int → name", service({ annotations: had, labels: { app: "web" }, spec: port("http") })],
    ["proxy label added", service({ annotations: had, labels: { app: "web", [PROXY]: "" } })],
  ] as const;
  const storedAt8080 = { ...stored, spec: port(8080) };
  for (const [what, now] of skipped) {
    assert.equal(calls(storedAt8080, { ...now, spec: port(8080) }), false, what);
    // Nothing is lost: validate itself lets these through (the stored error is only a warning).
    const r = validate(
      request({ ...now, spec: port(8080) }, { operation: "UPDATE", oldObject: storedAt8080 }),
    );
    assert.equal(r.allowed, true, what);
  }
  for (const [what, now] of judged)
    assert.equal(calls(storedAt8080, now.spec === undefined ? now : now), true, what);
  assert.equal(calls(null, stored), true, "CREATE");
  assert.equal(
    calls(storedAt8080, service({ labels: { app: "web" } })),
    false,
    "no kube-nftlb annotation left",
  );
});
