// deploy/certs as kustomize renders it: RBAC limited to what `certs ensure` does, the Job and the
// daily CronJob running the same command, and names that match the webhook's own manifests.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { parseAllDocuments } from "yaml";

const ROOT = join(import.meta.dirname, "..");
type Obj = { kind: string; metadata: { name: string; namespace?: string }; [k: string]: unknown };
type Rule = { apiGroups: string[]; resources: string[]; resourceNames?: string[]; verbs: string[] };

function render(dir: string): Obj[] | undefined {
  const r = spawnSync("kubectl", ["kustomize", join(ROOT, dir)], { encoding: "utf8" });
  if (r.error !== undefined) return undefined;
  assert.equal(r.status, 0, r.stderr);
  return parseAllDocuments(r.stdout).map((d) => d.toJS() as Obj);
}

const certs = render("deploy/certs");
const admission = render("deploy/admission");
const skip =
  certs === undefined ? "kubectl binary not found (kubectl kustomize renders the manifests)" : undefined;
const find = (objs: Obj[] | undefined, kind: string) => {
  const o = objs?.find((x) => x.kind === kind);
  assert.ok(o, `a ${kind}`);
  return o as Obj & Record<string, never>;
};

test(
  "the Role allows get/update on the one Secret by name, and create (which RBAC cannot limit by name)",
  { skip },
  () => {
    const rules = (find(certs, "Role") as unknown as { rules: Rule[] }).rules;
    assert.deepEqual(rules, [
      {
        apiGroups: [""],
        resources: ["secrets"],
        resourceNames: ["kube-nftlb-webhook-tls"],
        verbs: ["get", "update"],
      },
      { apiGroups: [""], resources: ["secrets"], verbs: ["create"] },
    ]);
  },
);

test(
  "the ClusterRole allows get/patch on the two webhook configurations by name, nothing else",
  { skip },
  () => {
    const rules = (find(certs, "ClusterRole") as unknown as { rules: Rule[] }).rules;
    assert.deepEqual(rules, [
      {
        apiGroups: ["admissionregistration.k8s.io"],
        resources: ["mutatingwebhookconfigurations", "validatingwebhookconfigurations"],
        resourceNames: ["kube-nftlb"],
        verbs: ["get", "patch"],
      },
    ]);
  },
);

test(
  "both bindings give those roles to the certs ServiceAccount, which the Job and CronJob use",
  { skip },
  () => {
    const sa = find(certs, "ServiceAccount");
    for (const kind of ["RoleBinding", "ClusterRoleBinding"]) {
      const b = find(certs, kind) as unknown as {
        roleRef: { name: string };
        subjects: { kind: string; name: string; namespace: string }[];
      };
      assert.deepEqual(b.subjects, [
        { kind: "ServiceAccount", name: sa.metadata.name, namespace: sa.metadata.namespace },
      ]);
      assert.equal(b.roleRef.name, "kube-nftlb-certs");
    }
    const job = find(certs, "Job") as unknown as {
      spec: { template: { spec: { serviceAccountName: string } } };
    };
    const cron = find(certs, "CronJob") as unknown as {
      spec: { jobTemplate: { spec: { template: { spec: { serviceAccountName: string } } } } };
    };
    assert.equal(job.spec.template.spec.serviceAccountName, sa.metadata.name);
    assert.equal(cron.spec.jobTemplate.spec.template.spec.serviceAccountName, sa.metadata.name);
  },
);

test(
  "the Job and the daily CronJob run the same `certs ensure`, for the Service and Secret the webhook uses",
  { skip },
  () => {
    type Pod = { containers: { image: string; args: string[] }[] };
    const job = find(certs, "Job") as unknown as { spec: { template: { spec: Pod } } };
    const cron = find(certs, "CronJob") as unknown as {
      spec: {
        schedule: string;
        concurrencyPolicy: string;
        jobTemplate: { spec: { template: { spec: Pod } } };
      };
    };
    const args = job.spec.template.spec.containers[0]?.args ?? [];
    assert.deepEqual(cron.spec.jobTemplate.spec.template.spec.containers[0]?.args, args);
    assert.match(cron.spec.schedule, /^\d+ \d+ \* \* \*$/, "once a day");
    assert.equal(cron.spec.concurrencyPolicy, "Forbid");
    assert.match(job.spec.template.spec.containers[0]?.image ?? "", /^ghcr\.io\/kube-nftlb\/kube-nftlb:/);
    const flag = (name: string) => args.find((a) => a.startsWith(`--${name}=`))?.split("=")[1];
    assert.deepEqual(args.slice(0, 2), ["certs", "ensure"]);

    const service = find(admission, "Service");
    const deployment = find(admission, "Deployment") as unknown as {
      spec: { template: { spec: { volumes: { secret?: { secretName: string } }[] } } };
    };
    assert.equal(flag("namespace"), service.metadata.namespace);
    assert.equal(flag("service"), service.metadata.name);
    const mounted = deployment.spec.template.spec.volumes.flatMap((v) =>
      v.secret ? [v.secret.secretName] : [],
    );
    assert.deepEqual(mounted, [flag("secret")]);
    const role = (find(certs, "Role") as unknown as { rules: Rule[] }).rules;
    assert.equal(role[0]?.resourceNames?.[0], flag("secret"));
    const clusterRole = (find(certs, "ClusterRole") as unknown as { rules: Rule[] }).rules;
    assert.deepEqual(clusterRole[0]?.resourceNames, [flag("webhook")]);
  },
);
