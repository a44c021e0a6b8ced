// The scale subresource of Deployments and ReplicaSets (`kubectl scale`, HPA): GET answers an
// autoscaling/v1 Scale; PUT and PATCH (JSON, merge, strategic) change spec.replicas through the
// ordinary update pipeline (admission, validation, generation), and answer the new Scale.
import { decodeObject, isDryRun, mediaType, readBody, sendJson, type Ctx, type Server } from "./http.ts";
import { toScale } from "./apps.ts";
import { applyJsonPatch, applyMergePatch, strategicMerge } from "./patch.ts";
import { findResource } from "./resources.ts";
import { badRequest, conflict, invalid, MODIFIED, notFound, unsupportedMediaType } from "./status.ts";
import type { Obj } from "./store.ts";
import { updateObject } from "./write.ts";

const SCALE_PATCHES = [
  "application/json-patch+json",
  "application/merge-patch+json",
  "application/strategic-merge-patch+json",
];
// decodeObject checks a body against the endpoint's kind; /scale takes a Scale
const SCALE_RESOURCE = {
  ...(findResource("apps", "v1", "deployments") ?? ({} as never)),
  group: "autoscaling",
  kind: "Scale",
};

async function desiredScale(ctx: Ctx, current: Obj): Promise<Obj> {
  const body = await readBody(ctx.req);
  if (ctx.req.method === "PUT") return decodeObject({ ...ctx, resource: SCALE_RESOURCE }, body);
  const type = mediaType(ctx.req);
  if (!SCALE_PATCHES.includes(type)) throw unsupportedMediaType(SCALE_PATCHES);
  let patch: unknown;
  try {
    patch = JSON.parse(body.toString("utf8"));
  } catch (e) {
    throw badRequest(`error decoding patch: ${(e as Error).message}`);
  }
  if (type === "application/json-patch+json") return applyJsonPatch(current, patch) as Obj;
  if (typeof patch !== "object" || patch === null || Array.isArray(patch))
    throw badRequest("json: cannot unmarshal array into Go value of type map[string]interface {}");
  return (
    type === "application/merge-patch+json"
      ? applyMergePatch(current, patch)
      : strategicMerge("Scale", "", current, patch)
  ) as Obj;
}

export async function handleScale(srv: Server, ctx: Ctx): Promise<void> {
  const res = ctx.resource;
  const name = ctx.name ?? "";
  const old = srv.store.get(res, ctx.namespace, name);
  if (old === undefined) throw notFound(res, name);
  const current = toScale(old);
  if (ctx.req.method === "GET") return sendJson(ctx, 200, current);
  const dryRun = isDryRun(ctx);
  const want = await desiredScale(ctx, current);
  const rv = want.metadata?.resourceVersion;
  if (rv !== undefined && rv !== "" && rv !== old.metadata.resourceVersion)
    throw conflict(res, name, MODIFIED);
  const replicas = (want.spec as { replicas?: unknown } | undefined)?.replicas;
  if (typeof replicas !== "number" || !Number.isInteger(replicas) || replicas < 0)
    throw invalid(SCALE_RESOURCE, name, [
      {
        field: "spec.replicas",
        type: "FieldValueInvalid",
        detail: `Invalid value: ${JSON.stringify(replicas ?? null)}: must be greater than or equal to 0`,
      },
    ]);
  const next = structuredClone(old);
  (next.spec as Record<string, unknown>).replicas = replicas;
  const updated = await updateObject(srv, ctx, next, old, { dryRun });
  sendJson(ctx, 200, toScale(updated));
}
