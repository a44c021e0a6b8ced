// The part of kube-apiserver's bootstrap RBAC policy (plugin/pkg/auth/authorizer/rbac/
// bootstrappolicy) a client needs before any binding of its own: cluster-admin for
// system:masters, discovery and the version/health paths for every authenticated user, and
// self-reviews (`kubectl auth can-i`). Created at start, as the real server's post-start hook
// reconciles them; the dozens of other system:* roles (controllers, nodes, admin/edit/view) are
// not, so a binding to one of those names refers to nothing here.
import { SYSTEM_MASTERS } from "./rbac.ts";
import { findResource } from "./resources.ts";
import type { Obj, Store } from "./store.ts";
import { timestamp } from "./write.ts";

const RBAC = "rbac.authorization.k8s.io";
const DISCOVERY = ["/api", "/api/*", "/apis", "/apis/*", "/healthz", "/livez", "/openapi", "/openapi/*"];
const PUBLIC_INFO = ["/healthz", "/livez", "/readyz", "/version", "/version/"];

const ROLES: { name: string; rules: Record<string, string[]>[]; groups: string[] }[] = [
  {
    name: "cluster-admin",
    rules: [
      { apiGroups: ["*"], resources: ["*"], verbs: ["*"] },
      { nonResourceURLs: ["*"], verbs: ["*"] },
    ],
    groups: [SYSTEM_MASTERS],
  },
  {
    name: "system:discovery",
    rules: [{ nonResourceURLs: [...DISCOVERY, "/readyz", "/version", "/version/"], verbs: ["get"] }],
    groups: ["system:authenticated"],
  },
  {
    name: "system:public-info-viewer",
    rules: [{ nonResourceURLs: PUBLIC_INFO, verbs: ["get"] }],
    groups: ["system:authenticated", "system:unauthenticated"],
  },
  {
    name: "system:basic-user",
    rules: [
      {
        apiGroups: ["authorization.k8s.io"],
        resources: ["selfsubjectaccessreviews", "selfsubjectrulesreviews"],
        verbs: ["create"],
      },
      { apiGroups: ["authentication.k8s.io"], resources: ["selfsubjectreviews"], verbs: ["create"] },
    ],
    groups: ["system:authenticated"],
  },
  {
    // for servers that delegate authentication and authorization (kube-rbac-proxy, metrics-server);
    // bound to nobody by default
    name: "system:auth-delegator",
    rules: [
      { apiGroups: ["authentication.k8s.io"], resources: ["tokenreviews"], verbs: ["create"] },
      { apiGroups: ["authorization.k8s.io"], resources: ["subjectaccessreviews"], verbs: ["create"] },
    ],
    groups: [],
  },
];

export function seedBootstrapPolicy(store: Store): void {
  const roles = findResource(RBAC, "v1", "clusterroles");
  const bindings = findResource(RBAC, "v1", "clusterrolebindings");
  if (roles === undefined || bindings === undefined) return;
  const metadata = (name: string) => ({
    name,
    uid: crypto.randomUUID(),
    creationTimestamp: timestamp(),
    labels: { "kubernetes.io/bootstrapping": "rbac-defaults" },
    annotations: { "rbac.authorization.kubernetes.io/autoupdate": "true" },
  });
  for (const r of ROLES) {
    const role: Obj = {
      kind: "ClusterRole",
      apiVersion: `${RBAC}/v1`,
      metadata: metadata(r.name),
      rules: r.rules,
    };
    store.put(roles, role);
    if (r.groups.length === 0) continue;
    store.put(bindings, {
      kind: "ClusterRoleBinding",
      apiVersion: `${RBAC}/v1`,
      metadata: metadata(r.name),
      roleRef: { apiGroup: RBAC, kind: "ClusterRole", name: r.name },
      subjects: r.groups.map((name) => ({ apiGroup: RBAC, kind: "Group", name })),
    });
  }
}
