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
