// Admission reads the webhook configurations from a view kept per store: a write copies none of
// them, and a change to one takes effect on the very next write (the real connection refused
// below is what shows the webhook was, or was not, called).
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { mutate, validateAdmission, type Attributes } from "./admission.ts";
import { findResource } from "./resources.ts";
import { Store, type Obj } from "./store.ts";

const res = (group: string, resource: string) => findResource(group, "v1", resource)!;
const MUTATING = res("admissionregistration.k8s.io", "mutatingwebhookconfigurations");
const VALIDATING = res("admissionregistration.k8s.io", "validatingwebhookconfigurations");
const CONFIGMAPS = res("", "configmaps");

const config = (kind: string, name: string, failurePolicy: string): Obj => ({
  apiVersion: "admissionregistration.k8s.io/v1",
  kind,
  metadata: { name },
  webhooks: [
    {
      name: `${name}.lab.invalid`,
      // nothing listens on port 1: a call is refused at once
      clientConfig: { url: "https://127.0.0.1:1/review" },
      rules: [{ operations: ["CREATE"], apiGroups: [""], apiVersions: ["v1"], resources: ["configmaps"] }],
      failurePolicy,
      sideEffects: "None",
      admissionReviewVersions: ["v1"],
    },
  ],
});

const create = (name: string): Attributes => ({
  operation: "CREATE",
  res: CONFIGMAPS,
  subresource: "",
  namespace: "default",
  name,
  object: { apiVersion: "v1", kind: "ConfigMap", metadata: { name, namespace: "default" } },
  oldObject: undefined,
  dryRun: false,
  options: {},
  userInfo: { username: "u", groups: [] },
});

const noService = () => undefined;
const write = async (store: Store, name: string) => {
  await mutate(create(name), store, noService, []);
  await validateAdmission(create(name), store, noService, []);
};

/** How many webhook configurations `fn` deep-copies (the Store copies with structuredClone). */
async function configCopies(fn: () => Promise<unknown>): Promise<number> {
  const real = globalThis.structuredClone;
  let n = 0;
  globalThis.structuredClone = ((v: unknown, o?: Parameters<typeof structuredClone>[1]) => {
    if (/WebhookConfiguration$/.test(String((v as { kind?: unknown } | null)?.kind))) n++;
    return real(v, o);
  }) as typeof structuredClone;
  try {
    await fn();
  } finally {
    globalThis.structuredClone = real;
  }
  return n;
}

describe("admission's view of the webhook configurations", () => {
  it("a write copies no configuration; a change to one takes effect on the next write", async () => {
    const store = new Store();
    store.put(MUTATING, config("MutatingWebhookConfiguration", "m", "Ignore"));
    store.put(VALIDATING, config("ValidatingWebhookConfiguration", "v", "Ignore"));
    await write(store, "first"); // Ignore: the refused calls are skipped
    assert.equal(
      await configCopies(() => write(store, "second")),
      0,
      "the second write copied configurations",
    );
    assert.equal(
      await configCopies(async () => {
        for (let i = 0; i < 20; i++) await write(store, `cm-${i}`);
      }),
      0,
    );
    // Fail now: the very next write calls the webhook, and its refused connection fails the write.
    store.put(MUTATING, config("MutatingWebhookConfiguration", "m", "Fail"));
    await assert.rejects(
      mutate(create("after-change"), store, noService, []),
      /failed calling webhook "m\.lab\.invalid"/,
    );
    store.remove(MUTATING, undefined, "m");
    assert.equal(
      await mutate(create("after-delete"), store, noService, []).then((o) => o?.metadata.name),
      "after-delete",
    );
    store.put(VALIDATING, config("ValidatingWebhookConfiguration", "v", "Fail"));
    await assert.rejects(
      validateAdmission(create("validated"), store, noService, []),
      /failed calling webhook "v\.lab\.invalid"/,
    );
  });

  it("two stores keep apart views", async () => {
    const a = new Store();
    const b = new Store();
    a.put(MUTATING, config("MutatingWebhookConfiguration", "m", "Fail"));
    await assert.rejects(mutate(create("x"), a, noService, []), /failed calling webhook/);
    assert.ok(await mutate(create("x"), b, noService, []));
  });
});
