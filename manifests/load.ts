// Reading Kubernetes manifests from files, directories and stdin, defensively: binary files,
// non-UTF-8, YAML alias bombs and huge files become a clear error for that source, never a crash.
import { lstat, readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { LineCounter, parseAllDocuments } from "yaml";
import { HELM_HINT, helmTemplateLine } from "./helm.ts";

export const MAX_FILE_BYTES = 16 * 1024 * 1024;
const EXTENSIONS = [".yaml", ".yml", ".json"];

/** One Kubernetes object found in a source, with the line its document starts on. */
export interface ManifestObject {
  source: string;
  /** The line the object starts on. */
  line: number;
  object: Record<string, unknown>;
  /** The line of a field inside the object (e.g. one annotation), when the source is YAML/JSON text. */
  lineOf?: (path: readonly string[]) => number | undefined;
}

/** A source that could not be parsed (counts as an invalid manifest). */
export interface ParseProblem {
  source: string;
  line?: number;
  message: string;
}

export interface Loaded {
  objects: ManifestObject[];
  problems: ParseProblem[];
}

/** Expand PATH arguments into files; an unreadable path is a usage error, thrown as such. */
export async function expandPaths(paths: readonly string[]): Promise<string[]> {
  const files: string[] = [];
  for (const p of paths) {
    if (p === "-") {
      files.push(p);
      continue;
    }
    const st = await lstat(p).catch((err: NodeJS.ErrnoException) => {
      throw new UsageError(
        `cannot read ${p}: ${err.code === "ENOENT" ? "no such file or directory" : err.message}`,
      );
    });
    if (st.isDirectory()) files.push(...(await walk(p)));
    else files.push(p);
  }
  return files;
}

export class UsageError extends Error {}

async function walk(dir: string): Promise<string[]> {
  const out: string[] = [];
  const entries = await readdir(dir, { withFileTypes: true }).catch((err: Error) => {
    throw new UsageError(`cannot read directory ${dir}: ${err.message}`);
  });
  for (const e of entries.sort((a, b) => a.name.localeCompare(b.name))) {
    const path = join(dir, e.name);
    // Symlinked directories are not followed: a loop must not hang lint.
    if (e.isDirectory()) out.push(...(await walk(path)));
    else if (EXTENSIONS.some((x) => e.name.endsWith(x))) out.push(path);
  }
  return out;
}

export async function readSource(path: string, stdin: () => Promise<Buffer>): Promise<Buffer> {
  if (path === "-") return stdin();
  const st = await lstat(path);
  if (st.size > MAX_FILE_BYTES) throw new TooLarge(st.size);
  return readFile(path);
}

export class TooLarge extends Error {
  constructor(size: number) {
    super(`file is ${size} bytes; manifests over ${MAX_FILE_BYTES} bytes are refused`);
  }
}

/** Parse one source's bytes into objects (multi-document YAML, JSON, `kind: List` flattened). */
export function parseManifest(source: string, bytes: Buffer): Loaded {
  if (bytes.length > MAX_FILE_BYTES) {
    return { objects: [], problems: [{ source, message: new TooLarge(bytes.length).message }] };
  }
  if (bytes.includes(0))
    return {
      objects: [],
      problems: [{ source, message: "binary file (contains NUL bytes), not a manifest" }],
    };
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    return { objects: [], problems: [{ source, message: "not valid UTF-8 text" }] };
  }
  const lines = new LineCounter();
  const objects: ManifestObject[] = [];
  const problems: ParseProblem[] = [];
  let docs;
  try {
    // logLevel "error": the library's warnings would reach stderr as Node process warnings.
    docs = parseAllDocuments(text, {
      lineCounter: lines,
      prettyErrors: false,
      uniqueKeys: false,
      logLevel: "error",
    });
  } catch (err) {
    return { objects, problems: [{ source, message: `cannot parse: ${(err as Error).message}` }] };
  }
  const all = Array.isArray(docs) ? docs : [docs];
  let helm = false;
  for (const doc of all) {
    const line = lines.linePos(doc.range[0]).line;
    const template = helmTemplateLine(doc, text, lines);
    if (template !== undefined) {
      // Once per source: every document of a chart's template file would say the same.
      if (!helm) problems.push({ source, line: template, message: HELM_HINT });
      helm = true;
      continue;
    }
    const err = doc.errors[0];
    if (err) {
      problems.push({ source, line: lines.linePos(err.pos[0]).line, message: firstLine(err.message) });
      continue;
    }
    let value: unknown;
    try {
      // maxAliasCount stops "billion laughs" alias expansion.
      value = doc.toJS({ maxAliasCount: 1000 });
    } catch (e) {
      problems.push({ source, line, message: `cannot load document: ${firstLine((e as Error).message)}` });
      continue;
    }
    if (value === null || value === undefined) continue;
    if (!isObject(value)) {
      problems.push({ source, line, message: "document is not a Kubernetes object (expected a mapping)" });
      continue;
    }
    for (const { object, path } of flattenList(value, [])) {
      const node = doc.getIn(path, true) as { range?: [number, number] } | undefined;
      const start = node?.range?.[0];
      const lineOf = (field: readonly string[]) => {
        const at = (doc.getIn([...path, ...field], true) as { range?: [number, number] } | undefined)
          ?.range?.[0];
        return at === undefined ? undefined : lines.linePos(at).line;
      };
      objects.push({ source, line: start === undefined ? line : lines.linePos(start).line, object, lineOf });
    }
  }
  return { objects, problems };
}

/** Objects with their path inside the document, so findings can point at their lines. */
function flattenList(
  obj: Record<string, unknown>,
  path: (string | number)[],
): { object: Record<string, unknown>; path: (string | number)[] }[] {
  const kind = obj.kind;
  if (typeof kind === "string" && kind.endsWith("List") && Array.isArray(obj.items)) {
    return obj.items.flatMap((item, i) => (isObject(item) ? flattenList(item, [...path, "items", i]) : []));
  }
  return [{ object: obj, path }];
}

export const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v);
const firstLine = (s: string) => s.split("\n")[0] ?? s;

export interface LoadedPaths extends Loaded {
  files: string[];
  /** Sources that could not be read at all (a usage error for the commands: exit 2). */
  unreadable: ParseProblem[];
}

/**
 * Everything `lint` and `render` read: PATH arguments expanded, each source read and parsed.
 * A file over the size limit is an invalid manifest (a problem), not an unreadable one.
 * Throws UsageError when a PATH argument itself cannot be read.
 */
export async function loadPaths(
  paths: readonly string[],
  stdin: () => Promise<Buffer>,
): Promise<LoadedPaths> {
  const files = await expandPaths(paths);
  const out: LoadedPaths = { files, objects: [], problems: [], unreadable: [] };
  for (const file of files) {
    const source = file === "-" ? "<stdin>" : file;
    let bytes: Buffer;
    try {
      bytes = await readSource(file, stdin);
    } catch (err) {
      const problem = { source, message: `cannot read: ${(err as Error).message}` };
      (err instanceof TooLarge ? out.problems : out.unreadable).push(problem);
      continue;
    }
    const loaded = parseManifest(source, bytes);
    out.objects.push(...loaded.objects);
    out.problems.push(...loaded.problems);
  }
  return out;
}
