// The request context every handler receives, and the wire helpers: reading bodies with the real
// size limit, decoding JSON/YAML with the real error texts, answering JSON with Warning headers.
import type { IncomingMessage, ServerResponse } from "node:http";
import { parse as parseYaml } from "yaml";
import type { ManagedFields } from "./managedfields.ts";
import { writeOptions } from "./params.ts";
import type { UserInfo } from "./rbac.ts";
import { decodeProtobufObject } from "./protobuf.ts";
import type { Resource } from "./resources.ts";
import type { Allocators } from "./service-alloc.ts";
import { badRequest, failure, unsupportedMediaType, type Status } from "./status.ts";
import type { Obj, Store } from "./store.ts";
import type { ServiceResolver } from "./webhook-call.ts";

export interface Server {
  store: Store;
  alloc: Allocators;
  fields: ManagedFields;
  resolve: ServiceResolver;
  /** open watch responses, so faults can drop them */
  watches: Set<ServerResponse>;
  bookmarkIntervalMs: number;
  /** workload kinds a controller runs (the others get a Warning on create) */
  running: ReadonlySet<string>;
}

export interface Ctx {
  req: IncomingMessage;
  res: ServerResponse;
  url: URL;
  /** request-scoped warnings, sent as `Warning: 299 - "..."` headers */
  warnings: string[];
  user: UserInfo;
  resource: Resource;
  namespace: string | undefined;
  name: string | undefined;
  subresource: string;
}

const MAX_BODY = 3 * 1024 * 1024;

export async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of req as AsyncIterable<Buffer>) {
    size += c.length;
    if (size > MAX_BODY)
      throw failure(413, "RequestEntityTooLarge", `Request entity too large: limit is ${MAX_BODY}`);
    chunks.push(c);
  }
  return Buffer.concat(chunks);
}

export function mediaType(req: IncomingMessage): string {
  return (req.headers["content-type"] ?? "application/json").split(";")[0]?.trim().toLowerCase() ?? "";
}

const BODY_TYPES = ["application/json", "application/yaml", "application/vnd.kubernetes.protobuf"];

/** Decodes a create/update body into an object of the endpoint's kind, as the real decoder checks it. */
export function decodeObject(ctx: Ctx, body: Buffer, type = mediaType(ctx.req)): Obj {
  const text = body.toString("utf8");
  let value: unknown;
  if (type === "application/json" || type === "") {
    try {
      value = JSON.parse(text);
    } catch (e) {
      throw badRequest(`couldn't get version/kind; json parse error: ${(e as Error).message}`);
    }
  } else if (type === "application/yaml" || type === "application/apply-patch+yaml") {
    try {
      value = parseYaml(text);
    } catch (e) {
      throw badRequest(`error converting YAML to JSON: yaml: ${(e as Error).message.split("\n")[0] ?? ""}`);
    }
  } else if (type === "application/vnd.kubernetes.protobuf") {
    const decoded = decodeProtobufObject(body);
    if ("error" in decoded) throw failure(415, "UnsupportedMediaType", decoded.error);
    value = decoded.obj;
  } else throw unsupportedMediaType(BODY_TYPES);
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw badRequest(
      `couldn't get version/kind; json parse error: json: cannot unmarshal ${Array.isArray(value) ? "array" : typeof value} into Go value of type struct { APIVersion string "json:\\"apiVersion,omitempty\\""; Kind string "json:\\"kind,omitempty\\"" }`,
    );
  }
  const obj = value as Record<string, unknown>;
  const r = ctx.resource;
  const want = r.group === "" ? r.version : `${r.group}/${r.version}`;
  // the real decoder defaults a missing apiVersion/kind to the endpoint's (client-node relies on it)
  if (obj.kind === undefined || obj.kind === "") obj.kind = r.kind;
  if (obj.apiVersion === undefined || obj.apiVersion === "") obj.apiVersion = want;
  if (obj.kind !== r.kind)
    throw badRequest(
      `the object provided is unrecognized (must be of type ${r.kind}): kind ${JSON.stringify(obj.kind)} (${text.trim().slice(0, 64)})`,
    );
  if (obj.apiVersion !== want)
    throw badRequest(
      `the API version in the data (${String(obj.apiVersion)}) does not match the expected API version (${want})`,
    );
  // metadata of the wrong type is refused by the typed decoding (field-validation.ts); null is none
  obj.metadata ??= {};
  return obj as Obj;
}

function warningHeader(text: string): string {
  return `299 - "${text.replace(/\\/g, "\\\\").replace(/"/g, '\\"')}"`;
}

export function sendJson(
  ctx: Pick<Ctx, "res" | "warnings">,
  code: number,
  body: unknown,
  extra: Record<string, string> = {},
): void {
  const { res } = ctx;
  if (res.headersSent || res.destroyed) return;
  const unique = [...new Set(ctx.warnings)];
  if (unique.length > 0) res.setHeader("Warning", unique.map(warningHeader));
  res.writeHead(code, { "Content-Type": "application/json", "Cache-Control": "no-cache, private", ...extra });
  res.end(`${JSON.stringify(body)}\n`);
}

export function sendStatus(
  ctx: Pick<Ctx, "res" | "warnings">,
  s: Status,
  extra: Record<string, string> = {},
): void {
  sendJson(ctx, s.code, s, extra);
}

export function query(ctx: Ctx, name: string): string | null {
  return ctx.url.searchParams.get(name);
}

/** true for ?dryRun=All; refuses bad write options (params.ts) */
export const isDryRun = (ctx: Ctx): boolean => writeOptions(ctx);

/** The field manager a non-apply write is recorded under: ?fieldManager, else the User-Agent's product. */
export function managerOf(ctx: Ctx): string {
  const m = query(ctx, "fieldManager");
  if (m !== null && m !== "") return m;
  const ua = ctx.req.headers["user-agent"] ?? "unknown";
  return ua.split("/")[0] ?? ua;
}
