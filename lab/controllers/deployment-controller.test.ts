/* eslint-disable @typescript-eslint/no-unsafe-member-access, @typescript-eslint/no-unsafe-assignment, @typescript-eslint/no-unsafe-return, @typescript-eslint/no-unsafe-call, @typescript-eslint/no-unsafe-argument, @typescript-eslint/no-explicit-any -- API objects read from the wire are plain JSON */
// The Deployment and ReplicaSet controllers against the API stand-in (no root needed; this test
// marks Pods ready as a kubelet would), driven by the real kubectl: `create deployment` (a
// protobuf body), `scale` (the scale subresource), `rollout status`, a template change rolled
// out, and a delete that takes the ReplicaSets and Pods with it.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { startApiServer, type ApiServer } from "../apiserver/index.ts";
import { apiClient, MERGE_PATCH, type ApiClient } from "../cluster/api-client.ts";
import { storeSource } from "../cluster/sources.ts";
import { startDeploymentController, type DeploymentController } from "./deployment-controller.ts";
import { until as waitFor } from "../../test/until.ts";

const KUBECTL = "/usr/bin/kubectl";
const skip = existsSync(KUBECTL) ? false : `needs kubectl at ${KUBECTL} (CI installs it)`;

describe("Deployment controller against the API stand-in, with kubectl", { skip }, () => {
  let api: ApiServer;
  let client: ApiClient;
  let controller: DeploymentController;
  let dir: string;
  const logs: string[] = [];
  const kubectl = (...args: string[]) =>
    new Promise<{ code: number; stdout: string; stderr: string }>((resolve) =>
      execFile(
        KUBECTL,
        ["--kubeconfig", api.kubeconfigPath, "--cache-dir", join(dir, "cache"), ...args],
        { timeout: 60_000 },
        (err, stdout, stderr) =>
          resolve({ code: err === null ? 0 : typeof err.code === "number" ? err.code : 1, stdout, stderr }),
      ),
    );
  const get = async (path: string) => {
    const r = await client.request("GET", path);
    if (!r.ok) throw new Error(r.error);
    return r.body as any;
  };
  const pods = async () =>
    ((await get("/api/v1/namespaces/default/pods")).items as any[]).filter(
      (p) => p.metadata.deletionTimestamp === undefined,
    );
  const replicaSets = async () => (await get("/apis/apps/v1/namespaces/default/replicasets")).items as any[];
  const until = <T>(what: string, f: () => Promise<T | undefined>) =>
    waitFor(what, f, { timeoutMs: 15_000, intervalMs: 20, detail: () => `log: ${logs.join("; ")}` });
  /** What the lab's kubelet does, as far as these controllers care: Running and Ready. */
  const kubelet = setInterval(() => {
    void (async () => {
      if (client === undefined) return;
      for (const p of await pods().catch(() => [])) {
        if (p.status?.conditions?.some((c: any) => c.type === "Ready")) continue;
        const t = new Date().toISOString().replace(/\.\d+Z$/, "Z");
        await client.request(
          "PATCH",
          `/api/v1/namespaces/default/pods/${p.metadata.name}/status`,
          {
            status: {
              phase: "Running",
              conditions: [{ type: "Ready", status: "True", lastTransitionTime: t }],
            },
          },
          MERGE_PATCH,
        );
      }
    })();
  }, 50);

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "deployment-controller-"));
    api = await startApiServer({ running: ["Deployment", "ReplicaSet"] });
    client = apiClient({ url: api.url, token: api.token, ca: api.ca.cert });
    controller = startDeploymentController({
      deployments: storeSource(api.store, "apps", "deployments"),
      replicaSets: storeSource(api.store, "apps", "replicasets"),
      pods: storeSource(api.store, "", "pods"),
      api: client,
      log: (l) => logs.push(l),
    });
  });
  after(async () => {
    clearInterval(kubelet);
    controller?.stop();
    await api?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it("kubectl create deployment (protobuf) → a ReplicaSet → two Pods, owned by uid", async () => {
    const r = await kubectl(
      "create",
      "deployment",
      "web",
      "--image=lab.kube-nftlb.io/pod-server",
      "--port=8080",
      "--replicas=2",
    );
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stderr, "", "a kind the lab runs gets no warning");
    const d = await get("/apis/apps/v1/namespaces/default/deployments/web");
    const [rs] = await until("one ReplicaSet", async () =>
      (await replicaSets()).length === 1 ? replicaSets() : undefined,
    );
    const hash = rs.metadata.labels["pod-template-hash"];
    assert.match(hash, /^[bcdfghjklmnpqrstvwxz2456789]{1,10}$/);
    assert.equal(rs.metadata.name, `web-${hash}`);
    assert.deepEqual(rs.metadata.ownerReferences, [
      {
        apiVersion: "apps/v1",
        kind: "Deployment",
        name: "web",
        uid: d.metadata.uid,
        controller: true,
        blockOwnerDeletion: true,
      },
    ]);
    assert.deepEqual(rs.spec.selector.matchLabels, { app: "web", "pod-template-hash": hash });
    assert.equal(rs.metadata.annotations["deployment.kubernetes.io/revision"], "1");
    const ps = await until("two Pods", async () => ((await pods()).length === 2 ? pods() : undefined));
    for (const p of ps) {
      assert.ok(p.metadata.name.startsWith(`web-${hash}-`), p.metadata.name);
      assert.deepEqual(p.metadata.labels, { app: "web", "pod-template-hash": hash });
      assert.equal(p.metadata.ownerReferences[0].uid, rs.metadata.uid);
      assert.equal(p.spec.containers[0].ports[0].containerPort, 8080);
    }
  });

  it("kubectl rollout status returns once the Pods are available; the status says so", async () => {
    const r = await kubectl("rollout", "status", "deployment/web", "--timeout=30s");
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /deployment "web" successfully rolled out/);
    const d = await get("/apis/apps/v1/namespaces/default/deployments/web");
    const { conditions, ...counts } = d.status;
    assert.deepEqual(counts, {
      observedGeneration: 1,
      replicas: 2,
      updatedReplicas: 2,
      readyReplicas: 2,
      availableReplicas: 2,
    });
    assert.deepEqual(
      conditions.map((c: any) => [c.type, c.status, c.reason]),
      [
        ["Available", "True", "MinimumReplicasAvailable"],
        ["Progressing", "True", "NewReplicaSetAvailable"],
      ],
    );
    const table = await kubectl("get", "deployment", "web");
    assert.match(table.stdout, /^NAME\s+READY\s+UP-TO-DATE\s+AVAILABLE\s+AGE\nweb\s+2\/2\s+2\s+2\s+/);
  });

  it("kubectl scale goes through the scale subresource, up and down", async () => {
    const scale = await get("/apis/apps/v1/namespaces/default/deployments/web/scale");
    assert.deepEqual(
      { kind: scale.kind, apiVersion: scale.apiVersion, spec: scale.spec, status: scale.status },
      {
        kind: "Scale",
        apiVersion: "autoscaling/v1",
        spec: { replicas: 2 },
        status: { replicas: 2, selector: "app=web" },
      },
    );
    assert.equal((await kubectl("scale", "deployment/web", "--replicas=3")).code, 0);
    await until("three Pods", async () => ((await pods()).length === 3 ? true : undefined));
    const d = await get("/apis/apps/v1/namespaces/default/deployments/web");
    assert.equal(d.metadata.generation, 2, "a scale is a spec change");
    assert.equal((await kubectl("rollout", "status", "deployment/web", "--timeout=30s")).code, 0);
    assert.equal((await kubectl("scale", "deployment/web", "--replicas=1")).code, 0);
    await until("one Pod", async () => ((await pods()).length === 1 ? true : undefined));
    const bad = await client.request("PUT", "/apis/apps/v1/namespaces/default/deployments/web/scale", {
      apiVersion: "autoscaling/v1",
      kind: "Scale",
      metadata: { name: "web" },
      spec: { replicas: -1 },
    });
    assert.equal(bad.status, 422);
  });

  it("a template change rolls out a second ReplicaSet; the first is scaled to zero", async () => {
    const r = await kubectl("set", "env", "deployment/web", "COLOUR=blue");
    assert.equal(r.code, 0, r.stderr);
    assert.equal((await kubectl("rollout", "status", "deployment/web", "--timeout=30s")).code, 0);
    const rs = await until("the old ReplicaSet at zero", async () => {
      const l = await replicaSets();
      return l.length === 2 && l.some((x) => x.spec.replicas === 0) ? l : undefined;
    });
    const revisions = rs
      .map((x) => [x.metadata.annotations["deployment.kubernetes.io/revision"], x.spec.replicas])
      .sort();
    assert.deepEqual(revisions, [
      ["1", 0],
      ["2", 1],
    ]);
    const [p] = await until("the one Pod of revision 2", async () => {
      const l = await pods();
      return l.length === 1 && l[0].spec.containers[0].env?.[0]?.value === "blue" ? l : undefined;
    });
    assert.ok(p);
  });

  it("kubectl rollout undo brings the first ReplicaSet back as revision 3", async () => {
    const first = (await replicaSets()).find(
      (x) => x.metadata.annotations["deployment.kubernetes.io/revision"] === "1",
    );
    const r = await kubectl("rollout", "undo", "deployment/web");
    assert.equal(r.code, 0, r.stderr);
    assert.equal((await kubectl("rollout", "status", "deployment/web", "--timeout=30s")).code, 0);
    const rs = await until("the first ReplicaSet scaled back up", async () => {
      const l = await replicaSets();
      return l.length === 2 && l.find((x) => x.metadata.name === first.metadata.name)?.spec.replicas === 1
        ? l
        : undefined;
    });
    const back = rs.find((x) => x.metadata.name === first.metadata.name);
    assert.equal(back.metadata.annotations["deployment.kubernetes.io/revision"], "3");
  });

  it("deleting the Deployment deletes its ReplicaSets and their Pods", async () => {
    assert.equal((await kubectl("delete", "deployment", "web")).code, 0);
    await until("no ReplicaSets and no Pods", async () =>
      (await replicaSets()).length === 0 && (await get("/api/v1/namespaces/default/pods")).items.length === 0
        ? true
        : undefined,
    );
  });

  it("a Deployment whose selector does not match its template is refused with the real text", async () => {
    const body = (selector: unknown, labels: Record<string, string>) => ({
      apiVersion: "apps/v1",
      kind: "Deployment",
      metadata: { name: "bad" },
      spec: {
        selector,
        template: { metadata: { labels }, spec: { containers: [{ name: "c", image: "x" }] } },
      },
    });
    const post = (b: unknown) => client.request("POST", "/apis/apps/v1/namespaces/default/deployments", b);
    const mismatch = await post(body({ matchLabels: { app: "a" } }, { app: "b" }));
    assert.equal(mismatch.status, 422);
    assert.match(
      mismatch.ok ? "" : mismatch.error,
      /Deployment.apps "bad" is invalid: spec.template.metadata.labels: Invalid value: map\[string\]string\{"app":"b"\}: `selector` does not match template `labels`$/,
    );
    const none = await post(body(undefined, { app: "b" }));
    assert.match(none.ok ? "" : none.error, /spec.selector: Required value/);
  });

  it("kinds the lab stores but does not run answer creates with a Warning kubectl prints", async () => {
    writeFileSync(
      join(dir, "ds.yaml"),
      `apiVersion: apps/v1
kind: DaemonSet
metadata: {name: agent}
spec:
  selector: {matchLabels: {app: agent}}
  template:
    metadata: {labels: {app: agent}}
    spec: {containers: [{name: a, image: x}]}
`,
    );
    const r = await kubectl("apply", "-f", join(dir, "ds.yaml"));
    assert.equal(r.code, 0, r.stderr);
    assert.equal(
      r.stderr.trim(),
      "Warning: daemonsets.apps are stored but not run: no controller creates their Pods (the lab runs only Deployment, ReplicaSet)",
    );
  });
});
