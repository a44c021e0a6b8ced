// Protobuf schemas of the identity and RBAC kinds kubectl creates with its typed client
// (`kubectl create serviceaccount|role|clusterrole|rolebinding|clusterrolebinding|token`,
// `kubectl auth can-i`). Field numbers are those of k8s.io/api core/v1, rbac/v1,
// authentication/v1 and authorization/v1 generated.proto; `meta` and `labelSelector` are meta/v1's schemas.
import type { Schema } from "./protobuf.ts";

const RULE: Schema = {
  1: ["verbs", "string", true],
  2: ["apiGroups", "string", true],
  3: ["resources", "string", true],
  4: ["resourceNames", "string", true],
  5: ["nonResourceURLs", "string", true],
};
export function authKinds(meta: Schema, labelSelector: Schema): Record<string, Schema> {
  const binding: Schema = {
    1: ["metadata", meta],
    2: [
      "subjects",
      { 1: ["kind", "string"], 2: ["apiGroup", "string"], 3: ["name", "string"], 4: ["namespace", "string"] },
      true,
    ],
    3: ["roleRef", { 1: ["apiGroup", "string"], 2: ["kind", "string"], 3: ["name", "string"] }],
  };
  return {
    ServiceAccount: {
      1: ["metadata", meta],
      2: ["secrets", { 1: ["kind", "string"], 2: ["namespace", "string"], 3: ["name", "string"] }, true],
      3: ["imagePullSecrets", { 1: ["name", "string"] }, true],
      4: ["automountServiceAccountToken", "bool"],
    },
    Role: { 1: ["metadata", meta], 2: ["rules", RULE, true] },
    ClusterRole: {
      1: ["metadata", meta],
      2: ["rules", RULE, true],
      3: ["aggregationRule", { 1: ["clusterRoleSelectors", labelSelector, true] }],
    },
    RoleBinding: binding,
    ClusterRoleBinding: binding,
    TokenRequest: {
      1: ["metadata", meta],
      2: [
        "spec",
        {
          1: ["audiences", "string", true],
          3: [
            "boundObjectRef",
            {
              1: ["kind", "string"],
              2: ["apiVersion", "string"],
              3: ["name", "string"],
              4: ["uid", "string"],
            },
          ],
          4: ["expirationSeconds", "int"],
        },
      ],
    },
    SelfSubjectReview: { 1: ["metadata", meta] },
    SelfSubjectRulesReview: { 1: ["metadata", meta], 2: ["spec", { 1: ["namespace", "string"] }] },
    SelfSubjectAccessReview: {
      1: ["metadata", meta],
      2: [
        "spec",
        {
          1: [
            "resourceAttributes",
            {
              1: ["namespace", "string"],
              2: ["verb", "string"],
              3: ["group", "string"],
              4: ["version", "string"],
              5: ["resource", "string"],
              6: ["subresource", "string"],
              7: ["name", "string"],
            },
          ],
          2: ["nonResourceAttributes", { 1: ["path", "string"], 2: ["verb", "string"] }],
        },
      ],
    },
  };
}
