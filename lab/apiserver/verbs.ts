// The write verbs on the wire: POST (create), PUT (update), PATCH (the four patch types) and
// DELETE (one object or a collection), each answering as the real handlers do.
import { mutate, validateAdmission } from "./admission.ts";
import {
  decodeObject,
  isDryRun,
  mediaType,
  query,
  readBody,
  sendJson,
  type Ctx,
  type Server,
} from "./http.ts";
import { checkApplied, checkBody, checkPatched } from "./field-validation.ts";
import { notRunWarning } from "./not-run.ts";
import { boolParam, invalidOptions } from "./params.ts";
import { applyJsonPatch, applyMergePatch, strategicMerge } from "./patch.ts";
import { preventEscalation } from "./rbac-escalation.ts";
import { apiVersionOf, RESOURCES } from "./resources.ts";
import { parseFieldSelector, parseLabelSelector } from "./selectors.ts";
import { releaseService } from "./service-alloc.ts";
import { badRequest, conflict, failure, notFound, unsupportedMediaType } from "./status.ts";
import type { Obj } from "./store.ts";
import { admissionAttributes, createObject, timestamp, updateObject } from "./write.ts";

const PATCH_TYPES = [
  "application/json-patch+json",
  "application/merge-patch+json",
  "application/strategic-merge-patch+json",
  "application/apply-patch+yaml",
];

/**
 * etcd3's Create refuses an object that carries a resourceVersion (one that parses as a number
 * other than 0); the error is not a Status, so the client gets a 500 with no reason.
 */
function refuseResourceVersion(obj: Obj): void {
  const rv = obj.metadata.resourceVersion;
  if (typeof rv === "string" && /^\d+$/.test(rv) && BigInt(rv) !== 0n)
    throw failure(500, "", "resourceVersion should not be set on objects to be created");
}

function warnNotRun(srv: Server, ctx: Ctx): void {
  const w = notRunWarning(ctx.resource, srv.running);
  if (w !== undefined) ctx.warnings.push(w);
}

export async function handleCreate(srv: Server, ctx: Ctx): Promise<void> {
  const obj = decodeObject(ctx, await readBody(ctx.req));
  checkBody(ctx, obj, "CreateOptions");
  const dryRun = isDryRun(ctx);
  refuseResourceVersion(obj);
  preventEscalation(srv, ctx, obj, undefined);
  const created = await createObject(srv, ctx, obj, { dryRun });
  warnNotRun(srv, ctx);
  sendJson(ctx, 201, created);
}

export async function handleUpdate(srv: Server, ctx: Ctx): Promise<void> {
  const obj = decodeObject(ctx, await readBody(ctx.req));
  checkBody(ctx, obj, "UpdateOptions");
  const dryRun = isDryRun(ctx);
  const old = srv.store.get(ctx.resource, ctx.namespace, ctx.name ?? "");
  if (old === undefined) {
    if (!ctx.resource.createOnUpdate || ctx.subresource !== "") throw notFound(ctx.resource, ctx.name ?? "");
    if (obj.metadata.name !== undefined && obj.metadata.name !== ctx.name) {
      throw badRequest(
        `the name of the object (${String(obj.metadata.name)}) does not match the name on the URL (${ctx.name ?? ""})`,
      );
    }
    obj.metadata.name = ctx.name;
    return sendJson(ctx, 201, await createObject(srv, ctx, obj, { dryRun }));
  }
  preventEscalation(srv, ctx, obj, old);
  sendJson(ctx, 200, await updateObject(srv, ctx, obj, old, { dryRun }));
}

function parsePatchJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (e) {
    throw badRequest(`error decoding patch: ${(e as Error).message}`);
  }
}

export async function handlePatch(srv: Server, ctx: Ctx): Promise<void> {
  const type = mediaType(ctx.req);
  if (!PATCH_TYPES.includes(type)) throw unsupportedMediaType(PATCH_TYPES);
  const body = await readBody(ctx.req);
  const dryRun = isDryRun(ctx);
  const res = ctx.resource;
  const name = ctx.name ?? "";
  const force = boolParam(ctx, "force");
  if (force !== undefined && type !== "application/apply-patch+yaml")
    throw invalidOptions(
      "PatchOptions",
      "force",
      "FieldValueForbidden",
      "Forbidden: may not be specified for non-apply patch",
    );
  const old = srv.store.get(res, ctx.namespace, name);
  if (type === "application/apply-patch+yaml") {
    const manager = query(ctx, "fieldManager");
    if (manager === null || manager === "")
      throw invalidOptions(
        "PatchOptions",
        "fieldManager",
        "FieldValueRequired",
        "Required value: is required for apply patch",
      );
    const applied = decodeObject(ctx, body, "application/apply-patch+yaml");
    if (applied.metadata.managedFields !== undefined && applied.metadata.managedFields !== null)
      throw badRequest("metadata.managedFields must be nil");
    checkApplied(ctx, applied);
    if (applied.metadata.name !== undefined && applied.metadata.name !== name) {
      throw badRequest(
        `the name of the object (${String(applied.metadata.name)}) does not match the name on the URL (${name})`,
      );
    }
    applied.metadata.name = name;
    const live = old === undefined ? undefined : structuredClone<Obj>(old);
    const { object, commit } = srv.fields.apply(
      old?.metadata.uid ?? "",
      res.kind,
      apiVersionOf(res),
      manager,
      ctx.subresource,
      live,
      applied,
      force === true,
    );
    if (old === undefined) {
      if (ctx.subresource !== "") throw notFound(res, name);
      refuseResourceVersion(applied);
      preventEscalation(srv, ctx, object as Obj, undefined);
      const created = await createObject(srv, ctx, object as Obj, { dryRun, record: commit });
      warnNotRun(srv, ctx);
      return sendJson(ctx, 201, created);
    }
    const next = object as Obj;
    next.metadata.resourceVersion = applied.metadata.resourceVersion ?? old.metadata.resourceVersion;
    preventEscalation(srv, ctx, next, old);
    return sendJson(ctx, 200, await updateObject(srv, ctx, next, old, { dryRun, record: commit }));
  }
  if (old === undefined) throw notFound(res, name);
  const patch = parsePatchJson(body.toString("utf8"));
  let next: unknown;
  if (type === "application/json-patch+json") next = applyJsonPatch(old, patch);
  else {
    if (typeof patch !== "object" || patch === null || Array.isArray(patch))
      throw badRequest(
        `json: cannot unmarshal ${Array.isArray(patch) ? "array" : typeof patch} into Go value of type map[string]interface {}`,
      );
    next =
      type === "application/merge-patch+json"
        ? applyMergePatch(old, patch)
        : strategicMerge(res.kind, "", old, patch);
  }
  const obj = next as Obj;
  if (typeof obj !== "object" || obj === null || typeof obj.metadata !== "object" || obj.metadata === null)
    throw badRequest("the patched object has no metadata");
  checkPatched(ctx, obj, patch, type === "application/strategic-merge-patch+json");
  if (obj.kind !== old.kind || obj.apiVersion !== old.apiVersion)
    throw badRequest("the patch may not change the object's apiVersion or kind");
  preventEscalation(srv, ctx, obj, old);
  sendJson(ctx, 200, await updateObject(srv, ctx, obj, old, { dryRun }));
}

const PROTECTED_NAMESPACES = ["default", "kube-system", "kube-public"];

async function deleteOne(
  srv: Server,
  ctx: Ctx,
  old: Obj,
  options: Record<string, unknown>,
  dryRun: boolean,
): Promise<{ obj: Obj; gone: boolean }> {
  const res = ctx.resource;
  const name = old.metadata.name ?? "";
  const pre = (options.preconditions ?? {}) as { uid?: string; resourceVersion?: string };
  if (pre.uid !== undefined && pre.uid !== old.metadata.uid) {
    throw conflict(
      res,
      name,
      `Precondition failed: UID in precondition: ${pre.uid}, UID in object meta: ${old.metadata.uid ?? ""}`,
    );
  }
  if (pre.resourceVersion !== undefined && pre.resourceVersion !== old.metadata.resourceVersion) {
    throw conflict(
      res,
      name,
      `Precondition failed: ResourceVersion in precondition: ${pre.resourceVersion}, ResourceVersion in object meta: ${old.metadata.resourceVersion ?? ""}`,
    );
  }
  if (res.kind === "Namespace" && PROTECTED_NAMESPACES.includes(name)) {
    throw failure(403, "Forbidden", `namespaces "${name}" is forbidden: this namespace may not be deleted`, {
      name,
      kind: "namespaces",
    });
  }
  const a = admissionAttributes({ ...ctx, name }, "DELETE", undefined, old, dryRun);
  await mutate(a, srv.store, srv.resolve, ctx.warnings);
  await validateAdmission(a, srv.store, srv.resolve, ctx.warnings);
  if (dryRun) return { obj: old, gone: true };
  if ((old.metadata.finalizers ?? []).length > 0) {
    if (old.metadata.deletionTimestamp !== undefined) return { obj: old, gone: false };
    const pending = {
      ...old,
      metadata: { ...old.metadata, deletionTimestamp: timestamp(), deletionGracePeriodSeconds: 0 },
    };
    return { obj: srv.store.put(res, pending), gone: false };
  }
  if (res.kind === "Namespace") {
    // a namespace controller that finishes at once: Terminating, then the contents, then the namespace
    const terminating = srv.store.put(res, {
      ...old,
      metadata: { ...old.metadata, deletionTimestamp: timestamp() },
      status: { phase: "Terminating" },
    });
    for (const r of RESOURCES.filter((x) => x.namespaced)) {
      for (const o of srv.store.list(r, name)) {
        if (r.kind === "Service") releaseService(o, undefined, srv.alloc);
        srv.fields.forget(o.metadata.uid ?? "");
        srv.store.remove(r, name, o.metadata.name ?? "");
      }
    }
    srv.store.remove(res, undefined, name);
    return { obj: terminating, gone: true };
  }
  if (res.kind === "Service") releaseService(old, undefined, srv.alloc);
  srv.fields.forget(old.metadata.uid ?? "");
  return { obj: srv.store.remove(res, old.metadata.namespace, name) ?? old, gone: true };
}

async function deleteOptions(ctx: Ctx): Promise<Record<string, unknown>> {
  const body = (await readBody(ctx.req)).toString("utf8").trim();
  if (body === "") return {};
  try {
    const v = JSON.parse(body) as unknown;
    if (typeof v === "object" && v !== null && !Array.isArray(v)) return v as Record<string, unknown>;
  } catch {
    // fall through to the error below
  }
  throw badRequest(`couldn't get version/kind; json parse error: invalid DeleteOptions body`);
}

export async function handleDelete(srv: Server, ctx: Ctx): Promise<void> {
  const options = await deleteOptions(ctx);
  const dryRun = isDryRun(ctx) || (Array.isArray(options.dryRun) && options.dryRun.includes("All"));
  const res = ctx.resource;
  if (ctx.name === undefined) {
    const label = parseLabelSelector(query(ctx, "labelSelector"));
    const field = parseFieldSelector(query(ctx, "fieldSelector"), res.kind);
    const items: Obj[] = [];
    for (const o of srv.store.list(res, ctx.namespace)) {
      if (label(o) && field(o))
        items.push((await deleteOne(srv, { ...ctx, name: o.metadata.name }, o, options, dryRun)).obj);
    }
    return sendJson(ctx, 200, {
      kind: `${res.kind}List`,
      apiVersion: apiVersionOf(res),
      metadata: { resourceVersion: String(srv.store.revision) },
      items,
    });
  }
  const old = srv.store.get(res, ctx.namespace, ctx.name);
  if (old === undefined) throw notFound(res, ctx.name);
  const { obj, gone } = await deleteOne(srv, ctx, old, options, dryRun);
  if (res.returnDeletedObject || !gone) return sendJson(ctx, 200, obj);
  const details: Record<string, unknown> = { name: ctx.name };
  if (res.group !== "") details.group = res.group;
  Object.assign(details, { kind: res.resource, uid: old.metadata.uid });
  sendJson(ctx, 200, { kind: "Status", apiVersion: "v1", metadata: {}, status: "Success", details });
}
