// Who the product runs as in the lab: deploy/'s own Namespace, ServiceAccounts, Roles,
// ClusterRoles and their bindings, read from the files deploy/kustomization.yaml lists and
// created through the API as `kubectl apply -k deploy/` would, and for each component the
// ServiceAccount its workload names (serviceAccountName), with a token from TokenRequest — as
// kubelet gets one for a projected token volume. So every lab test runs the syncer and `certs
// ensure` with exactly deploy/'s permissions, and a missing rule is a 403 in their logs.
import { readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { parseAllDocuments } from "yaml";
import type { ApiServer } from "../apiserver/index.ts";
import { kubeconfig } from "../apiserver/kubeconfig.ts";
import { apiClient, type ApiClient } from "./api-client.ts";
import { REPO } from "./deploy-args.ts";

interface Doc {
  apiVersion?: string;
  kind?: string;
  metadata?: { name?: string; namespace?: string };
  spec?: Record<string, unknown>;
}

const PATHS: Record<string, (ns: string) => string> = {
  Namespace: () => "/api/v1/namespaces",
  ServiceAccount: (ns) => `/api/v1/namespaces/${ns}/serviceaccounts`,
  Role: (ns) => `/apis/rbac.authorization.k8s.io/v1/namespaces/${ns}/roles`,
  RoleBinding: (ns) => `/apis/rbac.authorization.k8s.io/v1/namespaces/${ns}/rolebindings`,
  ClusterRole: () => "/apis/rbac.authorization.k8s.io/v1/clusterroles",
  ClusterRoleBinding: () => "/apis/rbac.authorization.k8s.io/v1/clusterrolebindings",
};

/** Every document of a kustomization's `resources`, directories followed (no transformers: deploy/ has none that touch these kinds). */
function kustomized(dir: string): Doc[] {
  const k = parseAllDocuments(readFileSync(path.join(dir, "kustomization.yaml"), "utf8"))[0]?.toJS() as
    { resources?: string[] } | undefined;
  return (k?.resources ?? []).flatMap((r) => {
    const p = path.join(dir, r);
    if (!r.endsWith(".yaml") && !r.endsWith(".yml")) return kustomized(p);
    return parseAllDocuments(readFileSync(p, "utf8")).map((d) => d.toJS() as Doc);
  });
}

const DEPLOY = path.join(REPO, "deploy");

/** deploy/'s Namespace, ServiceAccounts and RBAC objects, in the order kubectl would create them. */
function deployIdentities(): Doc[] {
  const docs = kustomized(DEPLOY).filter((d) => d.kind !== undefined && d.kind in PATHS);
  const order = Object.keys(PATHS);
  return docs.sort((a, b) => order.indexOf(a.kind ?? "") - order.indexOf(b.kind ?? ""));
}

/** Creates them; `skip` leaves some out (a test of what a component does without its binding). */
export async function applyIdentities(
  api: ApiClient,
  skip: (d: Doc) => boolean = () => false,
): Promise<void> {
  for (const d of deployIdentities().filter((x) => !skip(x))) {
    const r = await api.request("POST", PATHS[d.kind ?? ""]!(d.metadata?.namespace ?? ""), d);
    if (!r.ok) throw new Error(`deploy/ ${d.kind} ${d.metadata?.name ?? ""}: ${r.error}`);
  }
}

/** The namespace/name of the ServiceAccount a workload's Pods run as (`file` under deploy/). */
export function serviceAccountOf(file: string): { namespace: string; name: string } {
  for (const d of parseAllDocuments(readFileSync(path.join(DEPLOY, file), "utf8")).map(
    (x) => x.toJS() as Doc,
  )) {
    const template = (d.spec?.template ?? (d.spec?.jobTemplate as Doc | undefined)?.spec?.template) as
      { spec?: { serviceAccountName?: string } } | undefined;
    const name = template?.spec?.serviceAccountName;
    if (name !== undefined) return { namespace: d.metadata?.namespace ?? "default", name };
  }
  throw new Error(`deploy/${file}: no serviceAccountName`);
}

/**
 * A kubeconfig at `file` holding a TokenRequest token of the ServiceAccount. A year, not the
 * DaemonSet's 3607 s: kubelet renews a projected token before it expires (and kube-apiserver
 * extends pod-bound 3607 s tokens to a year); the lab hands a token over once.
 */
export async function serviceAccountKubeconfig(
  api: ApiClient,
  sa: { namespace: string; name: string },
  o: { server: string; caPem: string; file: string },
): Promise<string> {
  const r = await api.request("POST", `/api/v1/namespaces/${sa.namespace}/serviceaccounts/${sa.name}/token`, {
    apiVersion: "authentication.k8s.io/v1",
    kind: "TokenRequest",
    spec: { expirationSeconds: 365 * 24 * 3600 },
  });
  if (!r.ok) throw new Error(`token for ${sa.namespace}/${sa.name}: ${r.error}`);
  const token = (r.body as { status?: { token?: string } }).status?.token ?? "";
  writeFileSync(
    o.file,
    kubeconfig({
      server: o.server,
      caPem: o.caPem,
      token,
      user: `system:serviceaccount:${sa.namespace}:${sa.name}`,
      namespace: sa.namespace,
    }),
    { mode: 0o600 },
  );
  return o.file;
}

/**
 * deploy/'s identities on a bare stand-in, and a kubeconfig of the DaemonSet's ServiceAccount
 * beside the admin's: how a test or bench that starts a syncer itself runs it as the lab does,
 * so that every such run also shows deploy/'s RBAC is enough.
 */
export async function deploySyncerKubeconfig(
  api: Pick<ApiServer, "url" | "token" | "ca" | "kubeconfigPath">,
): Promise<string> {
  const admin = apiClient({ url: api.url, token: api.token, ca: api.ca.cert });
  await applyIdentities(admin);
  return serviceAccountKubeconfig(admin, serviceAccountOf("node/daemonset.yaml"), {
    server: api.url,
    caPem: api.ca.cert,
    file: path.join(path.dirname(api.kubeconfigPath), "syncer.kubeconfig"),
  });
}
