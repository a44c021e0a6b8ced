/* eslint-disable @typescript-eslint/no-unsafe-member-access, @typescript-eslint/no-unsafe-argument -- API answers are plain JSON */
// apps/v1 on the wire: discovery of the scale subresources, Deployment defaults and validation
// texts, the scale subresource with garbage bodies, protobuf Deployment bodies that are garbage,
// and the Warning for workload kinds nothing runs (a bare stand-in runs none).
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { request } from "../lab/apiserver/client.ts";
import { startApiServer, type ApiServer } from "../lab/apiserver/index.ts";

let api: ApiServer;
const DEPLOYS = "/apis/apps/v1/namespaces/default/deployments";
const deployment = (name: string, extra: Record<string, unknown> = {}) => ({
  apiVersion: "apps/v1",
  kind: "Deployment",
  metadata: { name },
  spec: {
    selector: { matchLabels: { app: name } },
    template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: "c", image: "x" }] } },
    ...extra,
  },
});
before(async () => {
  api = await startApiServer();
});
after(async () => api.stop());

describe("apps/v1 Deployments and ReplicaSets", () => {
  it("discovery lists deployments/scale and replicasets/scale as autoscaling/v1 Scale", async () => {
    const r = await request(api, "GET", "/apis/apps/v1");
    const scale = (
      r.json.resources as { name: string; group?: string; version?: string; kind: string }[]
    ).filter((x) => x.name.endsWith("/scale"));
    assert.deepEqual(
      scale.map((x) => [x.name, x.group, x.version, x.kind]),
      [
        ["deployments/scale", "autoscaling", "v1", "Scale"],
        ["replicasets/scale", "autoscaling", "v1", "Scale"],
      ],
    );
  });

  it("a bare stand-in warns that Deployments are stored but not run", async () => {
    const r = await request(api, "POST", DEPLOYS, { body: deployment("warned") });
    assert.equal(r.status, 201);
    assert.equal(
      r.headers.warning,
      '299 - "deployments.apps are stored but not run: no controller creates their Pods (no controllers are attached to this lab API server)"',
    );
    assert.equal((await request(api, "DELETE", `${DEPLOYS}/warned`)).json.kind, "Status");
  });

  it("refuses bad Deployments with the real texts", async () => {
    const cases: [unknown, string][] = [
      [
        deployment("neg", { replicas: -1 }),
        'Deployment.apps "neg" is invalid: spec.replicas: Invalid value: -1: must be greater than or equal to 0',
      ],
      [
        deployment("empty", { selector: {} }),
        'Deployment.apps "empty" is invalid: spec.selector: Invalid value: v1.LabelSelector{MatchLabels:map[string]string(nil), MatchExpressions:[]v1.LabelSelectorRequirement(nil)}: empty selector is invalid for deployment',
      ],
    ];
    for (const [body, message] of cases) {
      const r = await request(api, "POST", DEPLOYS, { body });
      assert.equal(r.status, 422, r.text);
      assert.equal(r.json.message, message);
    }
    await request(api, "POST", DEPLOYS, { body: deployment("fixed") });
    const moved = await request(api, "PATCH", `${DEPLOYS}/fixed`, {
      body: {
        spec: {
          selector: { matchLabels: { app: "other" } },
          template: { metadata: { labels: { app: "other" } } },
        },
      },
      contentType: "application/merge-patch+json",
    });
    assert.equal(moved.status, 422);
    assert.match(
      moved.json.message,
      /spec.selector: Invalid value: v1.LabelSelector\{.*"app":"other".*\}: field is immutable$/,
    );
  });

  it("the scale subresource refuses garbage with a Status", async () => {
    const path = `${DEPLOYS}/fixed/scale`;
    const cases: [string, string, unknown, string | undefined, number][] = [
      ["GET", `${DEPLOYS}/missing/scale`, undefined, undefined, 404],
      ["PUT", path, "{not json", "application/json", 400],
      ["PUT", path, deployment("fixed"), "application/json", 400],
      ["PATCH", path, "[1]", "application/merge-patch+json", 400],
      ["PATCH", path, { spec: { replicas: "two" } }, "application/merge-patch+json", 422],
      ["PATCH", path, "kind: Scale", "application/apply-patch+yaml", 415],
      ["GET", "/api/v1/namespaces/default/services/x/scale", undefined, undefined, 404],
      ["DELETE", path, undefined, undefined, 405],
    ];
    for (const [method, p, body, contentType, status] of cases) {
      const r = await request(api, method, p, { body, ...(contentType ? { contentType } : {}) });
      assert.equal(r.status, status, `${method} ${p} ${JSON.stringify(body)}: ${r.text}`);
      assert.equal(r.json.kind, "Status");
    }
    const missing = await request(api, "GET", `${DEPLOYS}/missing/scale`);
    assert.equal(missing.json.message, 'deployments.apps "missing" not found');
    const stale = await request(api, "PUT", path, {
      body: {
        apiVersion: "autoscaling/v1",
        kind: "Scale",
        metadata: { name: "fixed", resourceVersion: "1" },
        spec: { replicas: 2 },
      },
    });
    assert.equal(stale.status, 409);
  });

  it("a garbage protobuf Deployment is a 415 with the reason, not a crash", async () => {
    const bodies = [
      Buffer.from("k8s\0\x0a\x05"),
      Buffer.concat([
        Buffer.from("k8s\0"),
        Buffer.from([0x0a, 0x12, 0x0a, 0x07]),
        Buffer.from("apps/v1"),
        Buffer.from([0x12, 0x0a]),
        Buffer.from("Deployment"),
        Buffer.from([0x12, 0x50, 0x0a]),
      ]),
    ];
    for (const body of bodies) {
      const r = await request(api, "POST", DEPLOYS, {
        body,
        contentType: "application/vnd.kubernetes.protobuf",
      });
      assert.equal(r.status, 415, r.text);
      assert.match(r.json.message, /^protobuf: truncated/);
    }
  });
});
