// The pure cores of the Deployment and ReplicaSet controllers: the pod-template-hash, which Pods
// a ReplicaSet creates or deletes, and how a Deployment rolls from one ReplicaSet to the next.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { planDeployment, type DeploymentObj } from "./deployments.ts";
import { planReplicaSet, type ReplicaSetObj } from "./replicasets.ts";
import { templateHash, type WorkloadPod } from "./workloads.ts";

const template = (image: string) => ({
  metadata: { labels: { app: "web" } },
  spec: { containers: [{ name: "c", image }] },
});
const rs = (replicas: number, extra: Partial<ReplicaSetObj["metadata"]> = {}): ReplicaSetObj => ({
  metadata: { name: "web-abc", namespace: "default", uid: "rs-uid", generation: 3, ...extra },
  spec: { replicas, selector: { matchLabels: { app: "web" } }, template: template("x") },
});
const pod = (name: string, ready: boolean, created: string, owner = "rs-uid"): WorkloadPod => ({
  metadata: {
    name,
    creationTimestamp: created,
    ownerReferences: [
      { apiVersion: "apps/v1", kind: "ReplicaSet", name: "web-abc", uid: owner, controller: true },
    ],
  },
  status: { conditions: [{ type: "Ready", status: ready ? "True" : "False", lastTransitionTime: created }] },
});

const terminating = (p: WorkloadPod): WorkloadPod => ({
  ...p,
  metadata: { ...p.metadata, deletionTimestamp: "2025-01-04T00:00:00Z" },
});

describe("templateHash", () => {
  it("is stable across key order, differs by content, and uses the safe alphabet", () => {
    const a = templateHash({ spec: { a: 1, b: 2 } });
    assert.equal(templateHash({ spec: { b: 2, a: 1 } }), a);
    assert.notEqual(templateHash({ spec: { a: 1, b: 3 } }), a);
    assert.notEqual(templateHash({ spec: { a: 1, b: 2 } }, 1), a, "a collision count changes it");
    assert.match(a, /^[bcdfghjklmnpqrstvwxz2456789]{1,10}$/);
  });
});

describe("planReplicaSet", () => {
  it("creates the missing Pods from the template, owned by the ReplicaSet", () => {
    const plan = planReplicaSet(rs(3), [pod("a", true, "2025-01-01T00:00:00Z")], Date.now());
    assert.equal(plan.create.length, 2);
    const body = plan.create[0] as { metadata: { generateName: string; ownerReferences: { uid: string }[] } };
    assert.equal(body.metadata.generateName, "web-abc-");
    assert.equal(body.metadata.ownerReferences[0]?.uid, "rs-uid");
    assert.deepEqual(plan.delete, []);
  });

  it("deletes unready Pods first, then the youngest; ignores others' and terminating Pods", () => {
    const pods = [
      pod("old-ready", true, "2025-01-01T00:00:00Z"),
      pod("young-ready", true, "2025-01-03T00:00:00Z"),
      pod("unready", false, "2025-01-01T00:00:00Z"),
      pod("someone-elses", true, "2025-01-01T00:00:00Z", "other-uid"),
      terminating(pod("terminating", true, "2025-01-01T00:00:00Z")),
    ];
    assert.deepEqual(planReplicaSet(rs(1), pods, Date.now()).delete, ["unready", "young-ready"]);
  });

  it("reports status counts (zero ones left out) and nothing when already so", () => {
    const pods = [pod("a", true, "2025-01-01T00:00:00Z"), pod("b", false, "2025-01-01T00:00:00Z")];
    const plan = planReplicaSet(rs(2), pods, Date.now());
    assert.deepEqual(plan.status, {
      replicas: 2,
      fullyLabeledReplicas: 2,
      readyReplicas: 1,
      availableReplicas: 1,
      observedGeneration: 3,
    });
    const again = planReplicaSet({ ...rs(2), status: plan.status }, pods, Date.now());
    assert.equal(again.status, undefined);
    assert.deepEqual(planReplicaSet(rs(0), [], Date.now()).status, { observedGeneration: 3 });
  });

  it("counts a ready Pod available only after minReadySeconds, and says when to look again", () => {
    const now = Date.parse("2025-01-01T00:00:05Z");
    const r = { ...rs(1), spec: { ...rs(1).spec, minReadySeconds: 10 } };
    const plan = planReplicaSet(r, [pod("a", true, "2025-01-01T00:00:00Z")], now);
    assert.equal(plan.status?.availableReplicas, undefined);
    assert.equal(plan.recheckAt, Date.parse("2025-01-01T00:00:10Z"));
  });
});

describe("planDeployment", () => {
  const d = (image: string, replicas = 2): DeploymentObj => ({
    metadata: { name: "web", namespace: "default", uid: "d-uid", generation: 1 },
    spec: { replicas, selector: { matchLabels: { app: "web" } }, template: template(image) },
  });
  const owned = (
    name: string,
    hash: string,
    revision: string,
    replicas: number,
    available: number,
    image = hash === "old" ? "x" : "y",
  ): ReplicaSetObj => ({
    metadata: {
      name,
      uid: `${name}-uid`,
      labels: { app: "web", "pod-template-hash": hash },
      annotations: {
        "deployment.kubernetes.io/revision": revision,
        "deployment.kubernetes.io/desired-replicas": "2",
        "deployment.kubernetes.io/max-replicas": "3",
      },
      ownerReferences: [
        { apiVersion: "apps/v1", kind: "Deployment", name: "web", uid: "d-uid", controller: true },
      ],
    },
    spec: {
      replicas,
      template: { ...template(image), metadata: { labels: { app: "web", "pod-template-hash": hash } } },
    },
    status: { replicas, availableReplicas: available, readyReplicas: available },
  });
  const now = "2025-01-01T00:00:00Z";

  it("creates the ReplicaSet of the template: name, hash in labels/selector/template, owner, revision 1", () => {
    const plan = planDeployment(d("x"), [], now);
    const hash = templateHash(template("x"));
    assert.equal(plan.ops.length, 1);
    const op = plan.ops[0];
    assert.equal(op?.op, "create");
    if (op?.op !== "create") return;
    assert.equal(op.body.metadata.name, `web-${hash}`);
    assert.deepEqual(op.body.spec.selector?.matchLabels, { app: "web", "pod-template-hash": hash });
    assert.equal(op.body.spec.template?.metadata?.labels?.["pod-template-hash"], hash);
    assert.equal(op.body.metadata.ownerReferences?.[0]?.uid, "d-uid");
    assert.equal(op.body.metadata.annotations?.["deployment.kubernetes.io/revision"], "1");
    assert.equal(plan.revision, "1");
    assert.equal((plan.status?.conditions as { reason: string }[])[1]?.reason, "NewReplicaSetCreated");
  });

  it("rolls out a new template: new ReplicaSet at revision 2; the old one shrinks as new Pods are available", () => {
    const oldRs = owned("web-old", "old", "1", 2, 2);
    const first = planDeployment(d("y"), [oldRs], now);
    assert.deepEqual(
      first.ops.map((o) => o.op),
      ["create"],
      "nothing old goes before anything new is available",
    );
    const hash = templateHash(template("y"));
    const half = planDeployment(d("y"), [oldRs, owned(`web-${hash}`, hash, "2", 2, 1)], now);
    assert.deepEqual(half.ops, [{ op: "scale", name: "web-old", replicas: 1, annotations: {} }]);
    const done = planDeployment(
      d("y"),
      [owned("web-old", "old", "1", 0, 0), owned(`web-${hash}`, hash, "2", 2, 2)],
      now,
    );
    assert.deepEqual(done.ops, []);
    assert.equal(done.revision, "2");
    const { conditions, ...counts } = done.status ?? {};
    assert.deepEqual(counts, {
      observedGeneration: 1,
      replicas: 2,
      updatedReplicas: 2,
      readyReplicas: 2,
      availableReplicas: 2,
    });
    assert.deepEqual(
      (conditions as { type: string; status: string; reason: string }[]).map((c) => [
        c.type,
        c.status,
        c.reason,
      ]),
      [
        ["Available", "True", "MinimumReplicasAvailable"],
        ["Progressing", "True", "NewReplicaSetAvailable"],
      ],
    );
  });

  it("a rollback reuses the old ReplicaSet (template equal but for the hash) as the newest revision", () => {
    const hash = templateHash(template("y"));
    const back = planDeployment(
      d("x"),
      [owned("web-old", "old", "1", 0, 0), owned(`web-${hash}`, hash, "2", 2, 2)],
      now,
    );
    assert.deepEqual(back.ops[0], {
      op: "scale",
      name: "web-old",
      replicas: 2,
      annotations: {
        "deployment.kubernetes.io/desired-replicas": "2",
        "deployment.kubernetes.io/max-replicas": "3",
        "deployment.kubernetes.io/revision": "3",
      },
    });
    assert.equal(back.revision, "3");
  });

  it("scales the current ReplicaSet with spec.replicas, and ignores ReplicaSets it does not own", () => {
    const hash = templateHash(template("x"));
    const foreign = {
      ...owned("other", "zzz", "9", 5, 5),
      metadata: { ...owned("other", "zzz", "9", 5, 5).metadata, ownerReferences: [] },
    };
    const plan = planDeployment(d("x", 4), [owned(`web-${hash}`, hash, "1", 2, 2, "x"), foreign], now);
    assert.deepEqual(plan.ops, [
      {
        op: "scale",
        name: `web-${hash}`,
        replicas: 4,
        annotations: {
          "deployment.kubernetes.io/desired-replicas": "4",
          "deployment.kubernetes.io/max-replicas": "5",
          "deployment.kubernetes.io/revision": "1",
        },
      },
    ]);
    assert.equal((plan.status?.conditions as { status: string }[])[0]?.status, "False", "2 of 4 < 4 - 25%");
  });
});
