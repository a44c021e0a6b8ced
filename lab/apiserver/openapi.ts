// Just enough OpenAPI v3 for kubectl: the root index (/openapi/v3) and one document per group
// version whose operations carry x-kubernetes-group-version-kind and the query parameters the
// real server accepts. kubectl reads the PATCH operation's parameters to decide that the server
// validates fields itself (fieldValidation), instead of downloading a schema to validate locally.
// Schemas are left out: kubectl falls back to its compiled-in types for strategic merge patches.
// That keeps the documents ~60× smaller than a real server's (api/v1: 28 KB against ~1.8 MB), and
// kubectl 1.32 parses the object's document again for every object it applies (docs/lab.md), so
// the lab's kubectl is cheaper than a real cluster's. Served as handler3 serves them (ETag, hashed
// URLs immutable, a stale hash redirected).
import { createHash } from "node:crypto";
import type { IncomingMessage } from "node:http";
import type { Ctx } from "./http.ts";
import { groupVersions, RESOURCES, type Resource } from "./resources.ts";

const prefix = (group: string, version: string) =>
  group === "" ? `api/${version}` : `apis/${group}/${version}`;
const param = (name: string, type = "string") => ({ name, in: "query", schema: { type }, uniqueItems: true });
const WRITE_PARAMS = [param("dryRun"), param("fieldManager"), param("fieldValidation")];

function operations(r: Resource): Record<string, unknown> {
  const gvk = { group: r.group, version: r.version, kind: r.kind };
  const op = (action: string, params: unknown[] = []) => ({
    "x-kubernetes-action": action,
    "x-kubernetes-group-version-kind": gvk,
    operationId: `${action}${r.kind}`,
    parameters: params,
    responses: { "200": { description: "OK" } },
  });
  const base = `/${prefix(r.group, r.version)}${r.namespaced ? "/namespaces/{namespace}" : ""}/${r.resource}`;
  const item = {
    get: op("get"),
    put: op("put", WRITE_PARAMS),
    patch: op("patch", [...WRITE_PARAMS, param("force", "boolean")]),
    delete: op("delete", [
      param("dryRun"),
      param("gracePeriodSeconds", "integer"),
      param("propagationPolicy"),
    ]),
  };
  const paths: Record<string, unknown> = {
    [base]: { get: op("list"), post: op("post", WRITE_PARAMS), delete: op("deletecollection") },
    [`${base}/{name}`]: item,
  };
  if (r.status)
    paths[`${base}/{name}/status`] = {
      get: op("get"),
      put: op("put", WRITE_PARAMS),
      patch: op("patch", [...WRITE_PARAMS, param("force", "boolean")]),
    };
  return paths;
}

export function openApiDocument(path: string): Record<string, unknown> | undefined {
  const gv = groupVersions().find((x) => prefix(x.group, x.version) === path);
  if (gv === undefined) return undefined;
  const paths = Object.assign(
    {},
    ...RESOURCES.filter((r) => r.group === gv.group && r.version === gv.version).map(operations),
  ) as Record<string, unknown>;
  return {
    openapi: "3.0.0",
    info: { title: "Kubernetes", version: "v1.32.4-lab" },
    paths,
    components: { schemas: {} },
  };
}

/** The bytes served for a group version's document (`api/v1`, `apis/apps/v1`), or undefined. */
export function openApiText(path: string): string | undefined {
  const doc = openApiDocument(path);
  return doc === undefined ? undefined : JSON.stringify(doc);
}

/** handler3's ETag of a document: the hex SHA-512 of the bytes served, upper case. */
export const openApiHash = (text: string): string =>
  createHash("sha512").update(text).digest("hex").toUpperCase();

export function openApiRoot(): Record<string, unknown> {
  const paths: Record<string, unknown> = {};
  for (const gv of groupVersions()) {
    const p = prefix(gv.group, gv.version);
    paths[p] = { serverRelativeURL: `/openapi/v3/${p}?hash=${openApiHash(openApiText(p) ?? "")}` };
  }
  return { paths };
}

/**
 * /openapi/v2 as the protobuf Document client-go asks for, with no definitions. kubectl reads it
 * only to validate on the client what the server cannot validate itself — a `kind: List` — and
 * skips kinds it has no schema for, so each item goes to the server with fieldValidation=Strict.
 */
export function openApiV2Protobuf(): Buffer {
  const str = (field: number, text: string) => {
    const b = Buffer.from(text, "utf8");
    return Buffer.concat([Buffer.from([(field << 3) | 2, b.length]), b]);
  };
  const info = Buffer.concat([str(1, "Kubernetes"), str(2, "v1.32.4-lab")]);
  return Buffer.concat([str(1, "2.0"), Buffer.from([(2 << 3) | 2, info.length]), info]);
}

/**
 * One group version's OpenAPI v3 document as kube-openapi's handler3 serves it: its ETag the hash
 * the root's serverRelativeURL carries (the hex SHA-512 of the bytes served, quoted) and 304 to an
 * If-None-Match of it; at the URL with the current hash, cacheable for good (`public, immutable`,
 * Expires a year on: kubectl's disk cache then never asks again); a stale hash, 301 to the
 * current URL.
 */
export function sendOpenApi(
  base: Pick<Ctx, "res" | "warnings">,
  req: IncomingMessage,
  url: URL,
  gv: string,
  text: string,
) {
  const hash = openApiHash(text);
  const asked = url.searchParams.get("hash");
  const { res } = base;
  res.setHeader("Vary", "Accept");
  if (asked !== null && asked !== hash) {
    res.writeHead(301, { Location: `/openapi/v3/${gv}?hash=${hash}` });
    res.end();
    return;
  }
  const headers: Record<string, string> = { "Content-Type": "application/json", ETag: `"${hash}"` };
  if (asked !== null) {
    headers["Cache-Control"] = "public, immutable";
    headers.Expires = new Date(Date.now() + 365 * 86_400_000).toUTCString();
  }
  if (req.headers["if-none-match"] === headers.ETag) {
    res.writeHead(304, headers);
    res.end();
    return;
  }
  res.writeHead(200, headers);
  res.end(text);
}
