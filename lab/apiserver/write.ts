// The write pipeline shared by create, update, patch and apply, in kube-apiserver's order:
// namespace lifecycle → defaults → mutating webhooks → allocation (Services) → validation →
// validating webhooks → storage (or nothing, for dryRun=All). Server-owned metadata (uid,
// creationTimestamp, generation, resourceVersion, managedFields) is set here and nowhere else.
import { randomInt, randomUUID } from "node:crypto";
import { mutate, validateAdmission, type Attributes } from "./admission.ts";
import { prune } from "./decode.ts";
import { managerOf, type Ctx, type Server } from "./http.ts";
import { applyDefaults, validate } from "./kinds.ts";
import { apiVersionOf, findResource } from "./resources.ts";
import {
  allocateService,
  carryOverAllocated,
  dropTypeDependentFields,
  releaseService,
} from "./service-alloc.ts";
import { alreadyExists, badRequest, conflict, failure, invalid, MODIFIED, notFound } from "./status.ts";
import type { Obj } from "./store.ts";

const GENERATION = new Set([
  "Service",
  "EndpointSlice",
  "MutatingWebhookConfiguration",
  "ValidatingWebhookConfiguration",
  "Deployment",
  "ReplicaSet",
  "DaemonSet",
]);
const NS = findResource("", "v1", "namespaces");

// names.SimpleNameGenerator: the base cut to 58 characters, then 5 of utilrand's alphabet
const ALPHANUMS = "bcdfghjklmnpqrstvwxz2456789";
const generateName = (base: string) =>
  `${base.slice(0, 58)}${Array.from({ length: 5 }, () => ALPHANUMS[randomInt(ALPHANUMS.length)]).join("")}`;

export const timestamp = () => new Date().toISOString().replace(/\.\d+Z$/, "Z");

function attrs(
  ctx: Ctx,
  op: Attributes["operation"],
  object: Obj | undefined,
  old: Obj | undefined,
  dryRun: boolean,
): Attributes {
  const optionsKind = { CREATE: "CreateOptions", UPDATE: "UpdateOptions", DELETE: "DeleteOptions" }[op];
  const options: Record<string, unknown> = { kind: optionsKind, apiVersion: "meta.k8s.io/v1" };
  if (dryRun) options.dryRun = ["All"];
  if (op !== "DELETE") options.fieldManager = managerOf(ctx);
  const name = object?.metadata.name ?? old?.metadata.name ?? "";
  return {
    operation: op,
    res: ctx.resource,
    subresource: ctx.subresource,
    namespace: ctx.resource.namespaced ? ctx.namespace : undefined,
    name,
    object,
    oldObject: old,
    dryRun,
    options,
    userInfo: ctx.user,
  };
}

export { attrs as admissionAttributes };

function specOf(kind: string, o: Obj): unknown {
  if (kind === "Service") return o.spec;
  const { metadata: _m, status: _s, ...rest } = o;
  return rest;
}
const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

function checkNamespace(srv: Server, ctx: Ctx): void {
  if (!ctx.resource.namespaced || NS === undefined || ctx.namespace === undefined) return;
  const terminating = srv.store.look(
    NS,
    undefined,
    ctx.namespace,
    (ns) => ns.metadata.deletionTimestamp !== undefined,
  );
  if (terminating === undefined) throw notFound(NS, ctx.namespace);
  if (terminating) {
    throw failure(
      403,
      "Forbidden",
      `${ctx.resource.resource} "${ctx.name ?? ""}" is forbidden: unable to create new content in namespace ${ctx.namespace} because it is being terminated`,
    );
  }
}

/**
 * What the writer sent (defaulted), and the object the rest of the write changes: ownership is
 * recorded from the first (kube-apiserver records it before mutating admission and allocation,
 * so a webhook's changes, a generated name and the ClusterIP are nobody's). A webhook's patch is
 * already a copy (admission.ts); otherwise the rest works on one. Server-side apply records
 * ownership itself. Callers pass objects of their own and keep only the result, so what
 * `mutated` becomes is handed to the store uncopied.
 */
function keepRequested(sent: Obj, patched: Obj, o: WriteOptions): { requested: Obj; mutated: Obj } {
  if (o.record !== undefined || patched !== sent) return { requested: sent, mutated: patched };
  return { requested: sent, mutated: structuredClone(sent) };
}

export interface WriteOptions {
  dryRun: boolean;
  /** server-side apply records field ownership itself, instead of as an Update */
  record?: (uid: string) => void;
}

/** POST (and create-on-update / apply-create). */
export async function createObject(srv: Server, ctx: Ctx, obj: Obj, o: WriteOptions): Promise<Obj> {
  const res = ctx.resource;
  if (res.namespaced) {
    if (
      obj.metadata.namespace !== undefined &&
      obj.metadata.namespace !== "" &&
      obj.metadata.namespace !== ctx.namespace
    ) {
      throw badRequest(
        "the namespace of the provided object does not match the namespace sent on the request",
      );
    }
    obj.metadata.namespace = ctx.namespace;
  }
  checkNamespace(srv, ctx);
  for (const k of [
    "uid",
    "resourceVersion",
    "generation",
    "creationTimestamp",
    "deletionTimestamp",
    "managedFields",
    "selfLink",
  ])
    delete obj.metadata[k];
  // the Service strategy's PrepareForCreate: status is the controllers' to write, never the creator's
  if (res.kind === "Service") delete obj.status;
  applyDefaults(res, obj);
  const patched =
    (await mutate(attrs(ctx, "CREATE", obj, undefined, o.dryRun), srv.store, srv.resolve, ctx.warnings)) ??
    obj;
  const { requested, mutated } = keepRequested(obj, patched, o);
  // a webhook's patch is decoded into the type too: what it does not have is dropped
  prune(res, mutated);
  const m = mutated.metadata;
  if (
    (m.name === undefined || m.name === "") &&
    typeof m.generateName === "string" &&
    m.generateName !== ""
  ) {
    m.name = generateName(m.generateName);
  }
  m.uid = randomUUID();
  m.creationTimestamp = timestamp();
  if (GENERATION.has(res.kind)) m.generation = 1;
  const allocErrors = res.kind === "Service" ? allocateService(mutated, undefined, srv.alloc, o.dryRun) : [];
  const undo = () => {
    if (res.kind === "Service" && !o.dryRun && allocErrors.length === 0)
      releaseService(mutated, undefined, srv.alloc);
  };
  try {
    const errors = [...validate(res, mutated, undefined), ...allocErrors];
    if (errors.length > 0) throw invalid(res, m.name ?? "", errors);
    await validateAdmission(
      attrs(ctx, "CREATE", mutated, undefined, o.dryRun),
      srv.store,
      srv.resolve,
      ctx.warnings,
    );
    if (srv.store.look(res, m.namespace, m.name ?? "", () => true)) throw alreadyExists(res, m.name ?? "");
  } catch (e) {
    undo();
    throw e;
  }
  if (o.record !== undefined) o.record(m.uid);
  else
    srv.fields.recordUpdate(
      m.uid,
      res.kind,
      apiVersionOf(res),
      managerOf(ctx),
      ctx.subresource,
      undefined,
      requested,
    );
  m.managedFields = srv.fields.entries(m.uid);
  if (o.dryRun) {
    srv.fields.forget(m.uid);
    return mutated;
  }
  return srv.store.put(res, mutated, { handedOver: true });
}

/** PUT, and the second half of every PATCH. `next` is the full desired object. */
export async function updateObject(
  srv: Server,
  ctx: Ctx,
  next: Obj,
  old: Obj,
  o: WriteOptions,
): Promise<Obj> {
  const res = ctx.resource;
  const name = ctx.name ?? "";
  if (next.metadata.name !== undefined && next.metadata.name !== name) {
    throw badRequest(
      `the name of the object (${String(next.metadata.name)}) does not match the name on the URL (${name})`,
    );
  }
  if (
    res.namespaced &&
    next.metadata.namespace !== undefined &&
    next.metadata.namespace !== "" &&
    next.metadata.namespace !== ctx.namespace
  ) {
    throw badRequest("the namespace of the provided object does not match the namespace sent on the request");
  }
  const rv = next.metadata.resourceVersion;
  if (rv !== undefined && rv !== "" && rv !== old.metadata.resourceVersion)
    throw conflict(res, name, MODIFIED);
  let obj: Obj = next;
  if (ctx.subresource === "status") obj = { ...structuredClone(old), status: next.status };
  else if (res.status) obj.status = structuredClone(old.status);
  const m = obj.metadata;
  Object.assign(m, {
    name,
    uid: old.metadata.uid,
    creationTimestamp: old.metadata.creationTimestamp,
    generation: old.metadata.generation,
  });
  if (res.namespaced) m.namespace = ctx.namespace;
  if (old.metadata.deletionTimestamp !== undefined) m.deletionTimestamp = old.metadata.deletionTimestamp;
  else delete m.deletionTimestamp;
  applyDefaults(res, obj);
  if (res.kind === "Service" && ctx.subresource === "") {
    dropTypeDependentFields(obj, old);
    carryOverAllocated(obj, old);
  }
  const patched =
    (await mutate(attrs(ctx, "UPDATE", obj, old, o.dryRun), srv.store, srv.resolve, ctx.warnings)) ?? obj;
  const { requested, mutated } = keepRequested(obj, patched, o);
  prune(res, mutated);
  const allocErrors =
    res.kind === "Service" && ctx.subresource === ""
      ? allocateService(mutated, old, srv.alloc, o.dryRun)
      : [];
  const undo = () => {
    if (res.kind === "Service" && !o.dryRun && allocErrors.length === 0)
      releaseService(mutated, old, srv.alloc);
  };
  try {
    const errors = [...validate(res, mutated, old), ...allocErrors];
    if (errors.length > 0) throw invalid(res, name, errors);
    await validateAdmission(
      attrs(ctx, "UPDATE", mutated, old, o.dryRun),
      srv.store,
      srv.resolve,
      ctx.warnings,
    );
  } catch (e) {
    undo();
    throw e;
  }
  const uid = old.metadata.uid ?? "";
  if (GENERATION.has(res.kind) && !same(specOf(res.kind, mutated), specOf(res.kind, old)))
    mutated.metadata.generation = (old.metadata.generation ?? 0) + 1;
  const strip = (x: Obj) => ({
    ...x,
    metadata: { ...x.metadata, resourceVersion: undefined, managedFields: undefined },
  });
  if (same(strip(mutated), strip(old))) {
    // an apply of values already there still changes who owns them (shared ownership), and
    // that is a write; nothing else that changes nothing is
    if (o.record === undefined || o.dryRun) return old;
    o.record(uid);
    const untimed = (list: unknown[] | undefined) =>
      (list ?? []).map((e) => ({ ...(e as Record<string, unknown>), time: undefined }));
    const entries = srv.fields.entries(uid);
    if (same(untimed(entries), untimed(old.metadata.managedFields))) return old;
    return srv.store.put(res, { ...old, metadata: { ...old.metadata, managedFields: entries } });
  }
  if (o.dryRun)
    return { ...mutated, metadata: { ...mutated.metadata, resourceVersion: old.metadata.resourceVersion } };
  if (o.record !== undefined) o.record(uid);
  else
    srv.fields.recordUpdate(
      uid,
      res.kind,
      apiVersionOf(res),
      managerOf(ctx),
      ctx.subresource,
      old,
      requested,
    );
  mutated.metadata.managedFields = srv.fields.entries(uid);
  if (res.kind === "Service") releaseService(old, mutated, srv.alloc);
  if (mutated.metadata.deletionTimestamp !== undefined && (mutated.metadata.finalizers ?? []).length === 0) {
    srv.fields.forget(uid);
    if (res.kind === "Service") releaseService(mutated, undefined, srv.alloc);
    return srv.store.remove(res, mutated.metadata.namespace, name) ?? mutated;
  }
  return srv.store.put(res, mutated, { handedOver: true });
}
