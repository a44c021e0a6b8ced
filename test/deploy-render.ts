// Renders deploy/ and its overlays with the real kubectl (its built-in kustomize), and reads the
// rendered objects the way the deploy tests look at them. Test helper, not a test.
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parseAllDocuments } from "yaml";

export const ROOT = join(import.meta.dirname, "..");

/** Every kustomization an operator can `kubectl apply -k`. */
export const RENDERS = [
  "deploy",
  "deploy/overlays/alongside-kube-proxy",
  "deploy/overlays/validating-admission-policy",
] as const;
export type RenderName = (typeof RENDERS)[number];

export interface KObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  [key: string]: unknown;
}

export function kubectlMissing(): string | undefined {
  const r = spawnSync("kubectl", ["version", "--client"], { encoding: "utf8" });
  return r.status === 0 ? undefined : "kubectl is not installed (CI installs it)";
}

export function render(dir: string): KObject[] {
  const r = spawnSync("kubectl", ["kustomize", join(ROOT, dir)], { encoding: "utf8", maxBuffer: 16 << 20 });
  if (r.status !== 0) throw new Error(`kubectl kustomize ${dir} failed:\n${r.stderr}`);
  return parseAllDocuments(r.stdout).map((d) => {
    if (d.errors.length > 0) throw new Error(`${dir}: ${d.errors[0]?.message}`);
    return d.toJS() as KObject;
  });
}

export const packageVersion = (): string =>
  (JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { version: string }).version;

// --- pod templates --------------------------------------------------------------------------

export interface Container {
  name: string;
  image?: string;
  command?: string[];
  args?: string[];
  env?: {
    name: string;
    value?: string;
    valueFrom?: {
      fieldRef?: { fieldPath: string };
      resourceFieldRef?: { containerName?: string; resource: string };
    };
  }[];
  ports?: { name?: string; containerPort: number }[];
  resources?: { requests?: Record<string, string>; limits?: Record<string, string> };
  livenessProbe?: Probe;
  readinessProbe?: Probe;
  securityContext?: SecurityContext;
  volumeMounts?: { name: string; mountPath: string; readOnly?: boolean }[];
  lifecycle?: { preStop?: { sleep?: { seconds: number } } };
}
export interface Probe {
  exec?: { command: string[] };
  httpGet?: { path: string; port: number | string };
}
export interface SecurityContext {
  runAsUser?: number;
  runAsGroup?: number;
  runAsNonRoot?: boolean;
  privileged?: boolean;
  allowPrivilegeEscalation?: boolean;
  readOnlyRootFilesystem?: boolean;
  capabilities?: { add?: string[]; drop?: string[] };
  seccompProfile?: { type: string };
  fsGroup?: number;
}
export interface PodSpec {
  serviceAccountName?: string;
  automountServiceAccountToken?: boolean;
  hostNetwork?: boolean;
  hostPID?: boolean;
  hostIPC?: boolean;
  dnsPolicy?: string;
  priorityClassName?: string;
  tolerations?: Record<string, unknown>[];
  securityContext?: SecurityContext;
  initContainers?: Container[];
  containers: Container[];
  volumes?: ({ name: string } & Record<string, unknown>)[];
  topologySpreadConstraints?: Record<string, unknown>[];
}
export interface Workload {
  object: KObject;
  labels: Record<string, string>;
  pod: PodSpec;
}

/** Every pod template in a rendering: Deployments, DaemonSets, Jobs and CronJobs. */
export function workloads(objects: KObject[]): Workload[] {
  const out: Workload[] = [];
  for (const o of objects) {
    const spec = o.spec as Record<string, unknown> | undefined;
    let template: { metadata?: { labels?: Record<string, string> }; spec: PodSpec } | undefined;
    if (o.kind === "Deployment" || o.kind === "DaemonSet" || o.kind === "Job" || o.kind === "StatefulSet") {
      template = spec?.template as typeof template;
    } else if (o.kind === "CronJob") {
      template = ((spec?.jobTemplate as Record<string, unknown>)?.spec as Record<string, unknown>)
        ?.template as typeof template;
    } else if (o.kind === "Pod") {
      template = { metadata: o.metadata, spec: spec as unknown as PodSpec };
    }
    if (template) out.push({ object: o, labels: template.metadata?.labels ?? {}, pod: template.spec });
  }
  return out;
}

export const allContainers = (pod: PodSpec): Container[] => [
  ...(pod.initContainers ?? []),
  ...pod.containers,
];

export function find(objects: KObject[], kind: string, name: string): KObject {
  const o = objects.find((x) => x.kind === kind && x.metadata.name === name);
  if (!o) throw new Error(`no ${kind} ${name} in the rendering`);
  return o;
}

export function daemonSet(objects: KObject[]): {
  pod: PodSpec;
  nftlb: Container;
  syncer: Container;
  rules: Container;
  key: Container;
} {
  const [w] = workloads([find(objects, "DaemonSet", "kube-nftlb-node")]);
  const pod = w!.pod;
  const byName = (list: Container[] | undefined, name: string) => {
    const c = list?.find((x) => x.name === name);
    if (!c) throw new Error(`the DaemonSet has no container ${name}`);
    return c;
  };
  return {
    pod,
    nftlb: byName(pod.containers, "nftlb"),
    syncer: byName(pod.containers, "syncer"),
    rules: byName(pod.containers, "rules"),
    key: byName(pod.initContainers, "key"),
  };
}
