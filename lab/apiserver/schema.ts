// The real API types, read from the `kubernetes-models` package (generated from the upstream
// OpenAPI spec; see docs/apiserver.md for why this package). Its type declarations name every
// field of every built-in kind with its type, so they are parsed once per kind into a small
// schema tree: objects (named Go structs), lists, maps, strings, integers, booleans, IntOrString,
// Quantity and "anything" (FieldsV1, RawExtension, JSON).
import { existsSync, readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import ts from "typescript";

export type Schema =
  | { t: "string" | "integer" | "number" | "boolean" | "any" | "intOrString" | "quantity"; enum?: string[] }
  | { t: "object"; struct: string; props: () => Map<string, Schema>; required: () => Set<string> }
  | { t: "array"; items: Schema }
  | { t: "map"; values: Schema };

const MODELS = dirname(fileURLToPath(import.meta.resolve("kubernetes-models")));
const NODE_MODULES = dirname(MODELS);

/** The file behind an import specifier of a declaration file. */
function declarationFile(from: string, spec: string): string {
  const rel = spec.replace(/\.js$/, "");
  if (rel.startsWith(".")) return `${resolve(dirname(from), rel)}.d.ts`;
  const nested = join(MODELS, "node_modules", `${rel}.d.ts`);
  return existsSync(nested) ? nested : join(NODE_MODULES, `${rel}.d.ts`);
}

interface Parsed {
  file: string;
  source: ts.SourceFile;
  imports: Map<string, string>;
}
const parsed = new Map<string, Parsed>();

function parse(file: string): Parsed {
  let p = parsed.get(file);
  if (p !== undefined) return p;
  const source = ts.createSourceFile(file, readFileSync(file, "utf8"), ts.ScriptTarget.Latest);
  const imports = new Map<string, string>();
  for (const st of source.statements) {
    if (!ts.isImportDeclaration(st) || !ts.isStringLiteral(st.moduleSpecifier)) continue;
    const bindings = st.importClause?.namedBindings;
    if (bindings === undefined || !ts.isNamedImports(bindings)) continue;
    for (const el of bindings.elements) imports.set(el.name.text, st.moduleSpecifier.text);
  }
  parsed.set(file, (p = { file, source, imports }));
  return p;
}

/** The one interface or type alias a generated file declares (its `I<Name>`). */
function declared(p: Parsed): ts.InterfaceDeclaration | ts.TypeAliasDeclaration | undefined {
  for (const st of p.source.statements)
    if ((ts.isInterfaceDeclaration(st) || ts.isTypeAliasDeclaration(st)) && st.name.text.startsWith("I"))
      return st;
  return undefined;
}

const cache = new Map<string, Schema>();

function named(p: Parsed, name: string): Schema {
  const spec = p.imports.get(name);
  if (spec === undefined) return { t: "any" };
  const file = declarationFile(p.file, spec);
  const hit = cache.get(file);
  if (hit !== undefined) return hit;
  const target = parse(file);
  const decl = declared(target);
  let s: Schema;
  if (decl === undefined) s = { t: "any" };
  else if (ts.isTypeAliasDeclaration(decl)) {
    const alias = decl.name.text;
    s =
      alias === "IIntOrString"
        ? { t: "intOrString" }
        : alias === "IQuantity"
          ? { t: "quantity" }
          : typeOf(target, decl.type);
  } else s = structOf(target, decl);
  cache.set(file, s);
  return s;
}

function structOf(p: Parsed, decl: ts.InterfaceDeclaration): Schema {
  let props: Map<string, Schema> | undefined;
  let required: Set<string> | undefined;
  const load = () => {
    props = new Map();
    required = new Set();
    for (const m of decl.members) {
      if (!ts.isPropertySignature(m) || m.type === undefined) continue;
      const key = ts.isStringLiteral(m.name) || ts.isIdentifier(m.name) ? m.name.text : "";
      props.set(key, typeOf(p, m.type));
      if (m.questionToken === undefined) required.add(key);
    }
  };
  // an empty interface (FieldsV1, RawExtension, JSON) holds any JSON
  if (decl.members.length === 0) return { t: "any" };
  return {
    t: "object",
    struct: decl.name.text.slice(1),
    props: () => {
      if (required === undefined) load();
      return props ?? new Map();
    },
    required: () => {
      if (required === undefined) load();
      return required ?? new Set();
    },
  };
}

function typeOf(p: Parsed, node: ts.TypeNode): Schema {
  switch (node.kind) {
    case ts.SyntaxKind.StringKeyword:
      return { t: "string" };
    case ts.SyntaxKind.NumberKeyword:
      return { t: "integer" };
    case ts.SyntaxKind.BooleanKeyword:
      return { t: "boolean" };
  }
  if (ts.isLiteralTypeNode(node) && ts.isStringLiteral(node.literal))
    return { t: "string", enum: [node.literal.text] };
  if (ts.isUnionTypeNode(node)) {
    const values = node.types.flatMap((x) =>
      ts.isLiteralTypeNode(x) && ts.isStringLiteral(x.literal) ? [x.literal.text] : [],
    );
    return values.length === node.types.length ? { t: "string", enum: values } : { t: "any" };
  }
  if (ts.isArrayTypeNode(node)) return { t: "array", items: typeOf(p, node.elementType) };
  if (ts.isTypeReferenceNode(node) && ts.isIdentifier(node.typeName)) {
    const arg = node.typeArguments?.[0];
    if (node.typeName.text === "Array" && arg !== undefined) return { t: "array", items: typeOf(p, arg) };
    return named(p, node.typeName.text);
  }
  if (ts.isTypeLiteralNode(node)) {
    const index = node.members.find(ts.isIndexSignatureDeclaration);
    if (index !== undefined) return { t: "map", values: typeOf(p, index.type) };
  }
  return { t: "any" };
}

/** The schema of a kind, e.g. ("", "v1", "Service") or ("apps", "v1", "Deployment"). */
export function schemaOf(group: string, version: string, kind: string): Schema | undefined {
  const file = join(MODELS, group === "" ? version : `${group}/${version}`, `${kind}.d.ts`);
  if (!existsSync(file)) return undefined;
  const p = parse(file);
  const decl = declared(p);
  return decl !== undefined && ts.isInterfaceDeclaration(decl) ? structOf(p, decl) : undefined;
}
