// The review APIs another server delegates to (kube-rbac-proxy, metrics-server, aggregated API
// servers): SubjectAccessReview and LocalSubjectAccessReview (authorization.k8s.io: may this
// user, with these groups, do this?) and TokenReview (authentication.k8s.io: who is this
// token?). Create-only and never stored, answered as pkg/registry/authorization/
// subjectaccessreview, .../localsubjectaccessreview and pkg/registry/authentication/tokenreview
// do; who may create them is RBAC's business (system:auth-delegator grants both).
import { answerAccessReview, attributeErrors, bodyOf, type Any } from "./auth-requests.ts";
import { API_AUDIENCE, type Tokens } from "./authn.ts";
import { sendJson, type Ctx, type Server } from "./http.ts";
import type { UserInfo } from "./rbac.ts";
import { badRequest, type FieldError } from "./status.ts";
import { invalidValue } from "./validation.ts";

type Review = Pick<Ctx, "req" | "res" | "warnings" | "user">;
const GROUP = "authorization.k8s.io";
const strings = (v: unknown) => (Array.isArray(v) ? v.filter((x): x is string => typeof x === "string") : []);

/** ValidateSubjectAccessReviewSpec: the attributes, and a user or a group to ask about. */
function specErrors(spec: Any): FieldError[] {
  const errors = attributeErrors(spec);
  const user = typeof spec.user === "string" ? spec.user : "";
  if (user === "" && strings(spec.groups).length === 0)
    errors.push(invalidValue("spec.user", user, "at least one of user or group must be specified"));
  return errors;
}

/** AuthorizationAttributesFrom: exactly the user, uid and groups the spec names, nothing added. */
const subject = (spec: Any): UserInfo => ({
  username: typeof spec.user === "string" ? spec.user : "",
  ...(typeof spec.uid === "string" && spec.uid !== "" ? { uid: spec.uid } : {}),
  groups: strings(spec.groups),
});

/** POST /apis/authorization.k8s.io/v1/subjectaccessreviews */
export async function handleSubjectAccessReview(srv: Server, ctx: Review): Promise<void> {
  const review = await bodyOf(ctx, "SubjectAccessReview", `${GROUP}/v1`);
  const spec = (review.spec ?? {}) as Any;
  answerAccessReview(srv, ctx, "SubjectAccessReview", spec, specErrors(spec), subject(spec));
}

/** POST /apis/authorization.k8s.io/v1/namespaces/NS/localsubjectaccessreviews */
export async function handleLocalSubjectAccessReview(
  srv: Server,
  ctx: Review,
  namespace: string,
): Promise<void> {
  const review = await bodyOf(ctx, "LocalSubjectAccessReview", `${GROUP}/v1`);
  const metadata = (review.metadata ?? {}) as Any;
  // the create handler's EnsureObjectNamespaceMatchesRequestNamespace: an empty one is the path's
  const own = typeof metadata.namespace === "string" ? metadata.namespace : "";
  if (own !== "" && own !== namespace)
    throw badRequest("the namespace of the provided object does not match the namespace sent on the request");
  const spec = (review.spec ?? {}) as Any;
  const errors = specErrors(spec);
  const ra = spec.resourceAttributes as Any | undefined | null;
  const raNamespace = typeof ra?.namespace === "string" ? ra.namespace : "";
  if (ra && raNamespace !== namespace)
    errors.push(
      invalidValue("spec.resourceAttributes.namespace", raNamespace, "must match metadata.namespace"),
    );
  const nra = spec.nonResourceAttributes as Any | undefined | null;
  if (nra) {
    // the internal type printed as Go's %#v prints it
    const path = JSON.stringify(typeof nra.path === "string" ? nra.path : "");
    const verb = JSON.stringify(typeof nra.verb === "string" ? nra.verb : "");
    errors.push({
      field: "spec.nonResourceAttributes",
      type: "FieldValueInvalid",
      detail: `Invalid value: authorization.NonResourceAttributes{Path:${path}, Verb:${verb}}: disallowed on this kind of request`,
    });
  }
  answerAccessReview(srv, ctx, "LocalSubjectAccessReview", spec, errors, subject(spec), { namespace });
}

/** POST /apis/authentication.k8s.io/v1/tokenreviews */
export async function handleTokenReview(srv: Server, ctx: Review, tokens: Tokens): Promise<void> {
  const review = await bodyOf(ctx, "TokenReview", "authentication.k8s.io/v1");
  const spec = (review.spec ?? {}) as Any;
  const token = typeof spec.token === "string" ? spec.token : "";
  if (token === "") throw badRequest("token is required for TokenReview in authentication");
  // no audiences: the server's own (--api-audiences)
  const asked = strings(spec.audiences);
  const found = tokens.review(token, srv.store, asked.length > 0 ? asked : [API_AUDIENCE]);
  sendJson(ctx, 201, {
    kind: "TokenReview",
    apiVersion: "authentication.k8s.io/v1",
    metadata: { creationTimestamp: null },
    spec,
    // a token nobody recognises: the bearer-token authenticator's error, and an empty user
    status:
      found === undefined
        ? { user: {}, error: "invalid bearer token" }
        : { authenticated: true, user: found.user, audiences: found.audiences },
  });
}
