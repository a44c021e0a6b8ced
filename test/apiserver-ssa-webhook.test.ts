/* eslint-disable @typescript-eslint/no-unsafe-member-access, @typescript-eslint/no-unsafe-assignment, @typescript-eslint/no-unsafe-argument, @typescript-eslint/no-unsafe-call, @typescript-eslint/no-unsafe-return, @typescript-eslint/no-explicit-any -- API objects and AdmissionReviews from the wire are plain JSON */
// `kubectl apply --server-side` of what bench/lab-scale.ts applies (a selector-less Service and
// its EndpointSlice) through a mutating webhook that annotates Services, as kube-nftlb's does:
// created by the apply PATCH, admitted as a CREATE with kubectl as the field manager, the
// webhook's annotation stored but owned by nobody (kube-apiserver updates managedFields before
// mutating admission), the ClusterIP allocated and owned by nobody, and a second apply of the
// same file a no-op (same resourceVersion, no watch event) although the webhook runs again; and
// a client-side apply's POST, whose manager owns what it sent, not what admission added.
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { request } from "../lab/apiserver/client.ts";
import type { StoreEvent } from "../lab/apiserver/store.ts";
import { startApiWithWebhook } from "../lab/apiserver/test-webhook.ts";
import { KUBECTL, kubectlWith } from "./kubectl-run.ts";

const missing = existsSync(KUBECTL) ? false : `kubectl is not installed at ${KUBECTL}`;
/** the stand-in and its annotating webhook */
let lab: Awaited<ReturnType<typeof startApiWithWebhook>> | undefined;
let dir: string;
const kubectl = kubectlWith(
  () => lab!.api.kubeconfigPath,
  () => dir,
);

const FILE = `apiVersion: v1
kind: Service
metadata: {name: s0, namespace: scale}
spec:
  ports: [{name: http, port: 80, targetPort: 8080, protocol: TCP}]
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: s0-1
  namespace: scale
  labels: {kubernetes.io/service-name: s0, endpointslice.kubernetes.io/managed-by: bench.kube-nftlb.io}
addressType: IPv4
ports: [{name: http, port: 8080, protocol: TCP}]
endpoints: [{addresses: [10.1.0.1], conditions: {ready: true}}]
`;

const get = async (path: string) => (await request(lab!.api, "GET", path)).json;
const SVC = "/api/v1/namespaces/scale/services/s0";
const SLICE = "/apis/discovery.k8s.io/v1/namespaces/scale/endpointslices/s0-1";

describe("kubectl apply --server-side through a mutating webhook", { skip: missing }, () => {
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "apiserver-ssa-webhook-"));
    lab = await startApiWithWebhook("annotate", (req) => {
      const has = (req.object as any)?.metadata?.annotations !== undefined;
      return {
        allowed: true,
        patch: [
          ...(has ? [] : [{ op: "add", path: "/metadata/annotations", value: {} }]),
          { op: "add", path: "/metadata/annotations/lb.example.com~1scheduler", value: "rr" },
        ],
      };
    });
    const r = await request(
      lab.api,
      "POST",
      "/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations",
      {
        body: {
          apiVersion: "admissionregistration.k8s.io/v1",
          kind: "MutatingWebhookConfiguration",
          metadata: { name: "annotate" },
          webhooks: [
            {
              name: "annotate.lab.example.com",
              admissionReviewVersions: ["v1"],
              sideEffects: "None",
              clientConfig: {
                caBundle: Buffer.from(lab.api.ca.cert).toString("base64"),
                service: { namespace: "webhooks", name: "annotate", path: "/mutate" },
              },
              rules: [
                {
                  operations: ["CREATE", "UPDATE"],
                  apiGroups: [""],
                  apiVersions: ["v1"],
                  resources: ["services"],
                },
              ],
            },
          ],
        },
      },
    );
    assert.equal(r.status, 201, r.text);
    const ns = await kubectl("create", "namespace", "scale");
    assert.equal(ns.code, 0, ns.stderr);
  });
  after(async () => {
    await lab?.stop();
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  });

  it("creates both objects; the webhook's annotation and the ClusterIP are stored, owned by nobody", async () => {
    const f = join(dir, "scale.yaml");
    writeFileSync(f, FILE);
    const r = await kubectl("apply", "--server-side", "-f", f);
    assert.equal(
      r.stdout,
      "service/s0 serverside-applied\nendpointslice.discovery.k8s.io/s0-1 serverside-applied\n",
      r.stderr,
    );
    const review = lab!.hook.reviews[0]?.review.request as any;
    assert.equal(lab!.hook.reviews.length, 1, "one mutating call, for the Service");
    assert.equal(review.operation, "CREATE");
    assert.equal(review.options.kind, "CreateOptions");
    assert.equal(review.options.fieldManager, "kubectl");

    const svc = await get(SVC);
    assert.equal(svc.metadata.annotations["lb.example.com/scheduler"], "rr");
    assert.match(svc.spec.clusterIP, /^10\.96\./);
    assert.deepEqual(
      svc.metadata.managedFields.map((m: any) => [m.manager, m.operation, m.apiVersion, m.fieldsType]),
      [["kubectl", "Apply", "v1", "FieldsV1"]],
    );
    // exactly the applied fields: no f:metadata (name and namespace are not tracked), no
    // f:clusterIP, no webhook annotation
    assert.deepEqual(svc.metadata.managedFields[0].fieldsV1, {
      "f:spec": {
        "f:ports": {
          'k:{"port":80,"protocol":"TCP"}': {
            ".": {},
            "f:name": {},
            "f:port": {},
            "f:protocol": {},
            "f:targetPort": {},
          },
        },
      },
    });
    const slice = await get(SLICE);
    assert.deepEqual(
      slice.metadata.managedFields.map((m: any) => [m.manager, m.operation, m.apiVersion]),
      [["kubectl", "Apply", "discovery.k8s.io/v1"]],
    );
  });

  it("a second apply of the same file runs the webhook again (UPDATE) and writes nothing", async () => {
    const before = { svc: await get(SVC), slice: await get(SLICE) };
    const events: StoreEvent[] = [];
    const stop = lab!.api.store.subscribe((e) => {
      if (e.object.metadata.namespace === "scale") events.push(e);
    });
    try {
      lab!.hook.reviews.length = 0;
      const r = await kubectl("apply", "--server-side", "-f", join(dir, "scale.yaml"));
      assert.equal(r.code, 0, r.stderr);
      assert.deepEqual(
        lab!.hook.reviews.map((x) => [
          (x.review.request as any).operation,
          (x.review.request as any).options.kind,
        ]),
        [["UPDATE", "UpdateOptions"]],
      );
      const svc = await get(SVC);
      assert.equal(svc.metadata.resourceVersion, before.svc.metadata.resourceVersion);
      assert.deepEqual(svc.metadata.managedFields, before.svc.metadata.managedFields);
      assert.equal(svc.metadata.annotations["lb.example.com/scheduler"], "rr");
      assert.equal((await get(SLICE)).metadata.resourceVersion, before.slice.metadata.resourceVersion);
      assert.deepEqual(events, [], "no watch event");
    } finally {
      stop();
    }
  });

  it("client-side apply (POST): the creator's Update entry owns neither the webhook's annotation nor the ClusterIP", async () => {
    const f = join(dir, "csa.yaml");
    writeFileSync(f, FILE.split("---")[0]!.replace("name: s0,", "name: csa,"));
    const r = await kubectl("apply", "-f", f);
    assert.equal(r.stdout, "service/csa created\n", r.stderr);
    const svc = await get("/api/v1/namespaces/scale/services/csa");
    assert.equal(svc.metadata.annotations["lb.example.com/scheduler"], "rr");
    const [entry, ...more] = svc.metadata.managedFields;
    assert.deepEqual(
      [entry.manager, entry.operation, more.length],
      ["kubectl-client-side-apply", "Update", 0],
    );
    const annotations = Object.keys(entry.fieldsV1["f:metadata"]["f:annotations"]);
    assert.ok(annotations.includes("f:kubectl.kubernetes.io/last-applied-configuration"), annotations.join());
    assert.ok(!annotations.includes("f:lb.example.com/scheduler"), annotations.join());
    const spec = Object.keys(entry.fieldsV1["f:spec"]);
    assert.ok(
      spec.includes("f:ports") && !spec.includes("f:clusterIP") && !spec.includes("f:clusterIPs"),
      spec.join(),
    );
  });
});
