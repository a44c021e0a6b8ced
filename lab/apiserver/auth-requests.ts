// The create-only APIs of authentication and authorization the lab serves: TokenRequest
// (serviceaccounts/token: `kubectl create token`, kubelet's projected tokens),
// SelfSubjectAccessReview and SelfSubjectRulesReview (`kubectl auth can-i [--list]`) and
// SelfSubjectReview (`kubectl auth whoami`),
// answered as their registries do.
import { API_AUDIENCE, type Tokens } from "./authn.ts";
import { mediaType, readBody, sendJson, type Ctx, type Server } from "./http.ts";
import { decodeProtobufObject } from "./protobuf.ts";
import { authorize, rulesFor, type UserInfo } from "./rbac.ts";
import { nonResourceRequest, resourceRequest, type RequestAttributes } from "./request-info.ts";
import { badRequest, failure, notFound, type FieldError } from "./status.ts";
import { invalidValue } from "./validation.ts";

export type Any = Record<string, unknown>;

export async function bodyOf(ctx: Pick<Ctx, "req">, kind: string, apiVersion: string): Promise<Any> {
  const body = await readBody(ctx.req);
  let v: unknown;
  if (mediaType(ctx.req) === "application/vnd.kubernetes.protobuf") {
    const decoded = decodeProtobufObject(body);
    if ("error" in decoded) throw failure(415, "UnsupportedMediaType", decoded.error);
    v = decoded.obj;
  } else {
    try {
      v = JSON.parse(body.length === 0 ? "{}" : body.toString("utf8"));
    } catch (e) {
      throw badRequest(`couldn't get version/kind; json parse error: ${(e as Error).message}`);
    }
  }
  if (typeof v !== "object" || v === null || Array.isArray(v)) throw badRequest("Object 'Kind' is missing");
  const o = v as Any;
  if ((o.kind ?? kind) !== kind || (o.apiVersion ?? apiVersion) !== apiVersion)
    throw badRequest(
      `the object provided is unrecognized (must be of type ${kind}): kind ${JSON.stringify(o.kind)}`,
    );
  return o;
}

/** field.ErrorList as the registry returns it: `Kind.group "" is invalid: ...` */
export function invalidReview(group: string, kind: string, errors: FieldError[]) {
  const texts = errors.map((e) => `${e.field}: ${e.detail}`);
  const joined = texts.length === 1 ? (texts[0] ?? "") : `[${texts.join(", ")}]`;
  return failure(422, "Invalid", `${kind}.${group} "" is invalid: ${joined}`, {
    group,
    kind,
    causes: errors.map((e) => ({ reason: e.type, message: e.detail, field: e.field })),
  });
}

/** POST /api/v1/namespaces/NS/serviceaccounts/NAME/token */
export async function handleTokenRequest(srv: Server, ctx: Ctx, tokens: Tokens): Promise<void> {
  const group = "authentication.k8s.io";
  const req = await bodyOf(ctx, "TokenRequest", `${group}/v1`);
  const name = ctx.name ?? "";
  const sa = srv.store.get(ctx.resource, ctx.namespace, name);
  if (sa === undefined) throw notFound(ctx.resource, name);
  const spec = (req.spec ?? {}) as Any;
  // SetDefaults_TokenRequestSpec: an hour; the audiences default to the server's own
  const seconds = typeof spec.expirationSeconds === "number" ? spec.expirationSeconds : 3600;
  const audiences =
    Array.isArray(spec.audiences) && spec.audiences.length > 0
      ? (spec.audiences as string[])
      : [API_AUDIENCE];
  const errors: FieldError[] = [];
  if (seconds < 600)
    errors.push(
      invalidValue("spec.expirationSeconds", seconds, "may not specify a duration less than 10 minutes"),
    );
  if (seconds > 2 ** 32)
    errors.push(
      invalidValue("spec.expirationSeconds", seconds, "may not specify a duration larger than 2^32 seconds"),
    );
  if (errors.length > 0) throw invalidReview(group, "TokenRequest", errors);
  const minted = tokens.mint(
    { namespace: ctx.namespace ?? "", name, uid: sa.metadata.uid ?? "" },
    seconds,
    audiences,
  );
  sendJson(ctx, 201, {
    kind: "TokenRequest",
    apiVersion: `${group}/v1`,
    metadata: { name, namespace: ctx.namespace, creationTimestamp: null },
    spec: { ...spec, audiences, expirationSeconds: seconds, boundObjectRef: spec.boundObjectRef ?? null },
    status: minted,
  });
}

const str = (v: unknown) => (typeof v === "string" ? v : "");

/**
 * An access review's answer (Self-, Local- and SubjectAccessReview alike): the spec's validation
 * errors as the registry's 422, else 201 with the authorizer's answer for `user`.
 */
export function answerAccessReview(
  srv: Server,
  ctx: Pick<Ctx, "res" | "warnings">,
  kind: string,
  spec: Any,
  errors: FieldError[],
  user: UserInfo,
  metadata: Any = {},
): void {
  if (errors.length > 0) throw invalidReview("authorization.k8s.io", kind, errors);
  sendJson(ctx, 201, {
    kind,
    apiVersion: "authorization.k8s.io/v1",
    metadata: { ...metadata, creationTimestamp: null },
    spec,
    status: accessStatus(srv, user, spec),
  });
}

/** POST /apis/authorization.k8s.io/v1/selfsubjectaccessreviews */
export async function handleSelfSubjectAccessReview(
  srv: Server,
  ctx: Pick<Ctx, "req" | "res" | "warnings" | "user">,
): Promise<void> {
  const group = "authorization.k8s.io";
  const review = await bodyOf(ctx, "SelfSubjectAccessReview", `${group}/v1`);
  const spec = (review.spec ?? {}) as Any;
  answerAccessReview(srv, ctx, "SelfSubjectAccessReview", spec, attributeErrors(spec), ctx.user);
}

/** ValidateSelfSubjectAccessReviewSpec: exactly one of resourceAttributes, nonResourceAttributes. */
export function attributeErrors(spec: Any): FieldError[] {
  const ra = spec.resourceAttributes as Any | undefined | null;
  const nra = spec.nonResourceAttributes as Any | undefined | null;
  const errors: FieldError[] = [];
  if (ra && nra)
    errors.push(
      invalidValue(
        "spec.nonResourceAttributes",
        nra,
        "cannot be specified in combination with resourceAttributes",
      ),
    );
  if (!ra && !nra)
    errors.push(
      invalidValue(
        "spec.resourceAttributes",
        "null",
        "exactly one of nonResourceAttributes or resourceAttributes must be specified",
      ),
    );
  return errors;
}

/** The authorizer's answer for the attributes of an access review's spec, as its status. */
export function accessStatus(srv: Server, user: UserInfo, spec: Any) {
  const ra = spec.resourceAttributes as Any | undefined | null;
  const nra = spec.nonResourceAttributes as Any | undefined | null;
  const attrs: RequestAttributes = ra
    ? resourceRequest(str(ra.verb), {
        apiGroup: str(ra.group),
        apiVersion: str(ra.version),
        namespace: str(ra.namespace),
        resource: str(ra.resource),
        subresource: str(ra.subresource),
        name: str(ra.name),
      })
    : nonResourceRequest(str(nra?.verb), str(nra?.path));
  const d = authorize(srv.store, user, attrs);
  return { allowed: d.allowed, ...(d.reason !== "" ? { reason: d.reason } : {}) };
}

/** POST /apis/authorization.k8s.io/v1/selfsubjectrulesreviews (`kubectl auth can-i --list`) */
export async function handleSelfSubjectRulesReview(
  srv: Server,
  ctx: Pick<Ctx, "req" | "res" | "warnings" | "user">,
): Promise<void> {
  const review = await bodyOf(ctx, "SelfSubjectRulesReview", "authorization.k8s.io/v1");
  const spec = (review.spec ?? {}) as Any;
  const { rules, error } = rulesFor(srv.store, ctx.user, str(spec.namespace));
  const has = (l: string[] | undefined) => (l ?? []).length > 0;
  sendJson(ctx, 201, {
    kind: "SelfSubjectRulesReview",
    apiVersion: "authorization.k8s.io/v1",
    metadata: { creationTimestamp: null },
    spec,
    status: {
      resourceRules: rules
        .filter((r) => has(r.resources))
        .map((r) => ({
          verbs: r.verbs ?? [],
          apiGroups: r.apiGroups ?? [],
          resources: r.resources,
          ...(has(r.resourceNames) ? { resourceNames: r.resourceNames } : {}),
        })),
      nonResourceRules: rules
        .filter((r) => has(r.nonResourceURLs))
        .map((r) => ({ verbs: r.verbs ?? [], nonResourceURLs: r.nonResourceURLs })),
      incomplete: false,
      ...(error !== "" ? { evaluationError: error } : {}),
    },
  });
}

/** POST /apis/authentication.k8s.io/v1/selfsubjectreviews (`kubectl auth whoami`) */
export async function handleSelfSubjectReview(ctx: Pick<Ctx, "req" | "res" | "warnings" | "user">) {
  await bodyOf(ctx, "SelfSubjectReview", "authentication.k8s.io/v1");
  sendJson(ctx, 201, {
    kind: "SelfSubjectReview",
    apiVersion: "authentication.k8s.io/v1",
    metadata: { creationTimestamp: null },
    status: { userInfo: ctx.user },
  });
}
