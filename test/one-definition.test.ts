// One definition per fact (ARCHITECTURE.md): each label, limit, default table, regex, duration
// grammar, kubeconfig loader and the tests' polling helper lives in one module, and a copy that
// comes back elsewhere fails here. Reads the tree's TypeScript with the compiler's own parser, so
// comments and help text that merely mention a value do not count, while code that spells it does.
import { test } from "node:test";
import assert from "node:assert/strict";
import { globSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";
import ts from "typescript";
import { SERVICE_NAME_LABEL } from "../kube/labels.ts";
import { SERVICE_NAME_LABEL as LAB_SERVICE_NAME_LABEL } from "../lab/controllers/endpointslice-sync.ts";
import { HELPER_PROTOCOLS, HELPERS } from "../annotations/contract.ts";
import { NFTLB_HELPER_PROTOCOLS } from "../nftlb/validate.ts";

const ROOT = join(import.meta.dirname, "..");
const files = globSync("**/*.ts", {
  cwd: ROOT,
  exclude: (f) => f === "node_modules" || f === "dist" || f.startsWith("."),
}).sort();
/** Tests and their helpers state wire values on their own on purpose (a fixture pins the value). */
const isTest = (f: string) => f.startsWith("test/") || /\.test(-helpers)?\.ts$/.test(f);
const product = files.filter((f) => !isTest(f));

interface Found {
  file: string;
  line: number;
  text: string;
}

const parsed = new Map<string, ts.SourceFile>();
const source = (file: string): ts.SourceFile => {
  let sf = parsed.get(file);
  if (sf === undefined) {
    sf = ts.createSourceFile(file, texts.get(file)!, ts.ScriptTarget.Latest, true);
    parsed.set(file, sf);
  }
  return sf;
};

const texts = new Map(files.map((f) => [f, readFileSync(join(ROOT, f), "utf8")]));

/**
 * Every node of `among` that `pick` accepts, with where it is. Only files whose text holds one of
 * `hints` are parsed: parsing the whole tree for each check would be slow.
 */
function find(among: readonly string[], hints: readonly string[], pick: (n: ts.Node) => boolean): Found[] {
  const out: Found[] = [];
  for (const file of among.filter((f) => hints.some((h) => texts.get(f)!.includes(h)))) {
    const sf = source(file);
    const visit = (n: ts.Node) => {
      if (pick(n)) {
        const line = sf.getLineAndCharacterOfPosition(n.getStart(sf)).line + 1;
        out.push({ file, line, text: n.getText(sf).slice(0, 80) });
      }
      n.forEachChild(visit);
    };
    visit(sf);
  }
  return out;
}
const where = (found: readonly Found[]) => found.map((f) => `${f.file}:${f.line} ${f.text}`);
const files_ = (found: readonly Found[]) => [...new Set(found.map((f) => f.file))].sort();

/** A string in code that is the value, or a selector on it ("label=value"). */
const spells = (value: string) => (n: ts.Node) =>
  (ts.isStringLiteral(n) || ts.isNoSubstitutionTemplateLiteral(n)) &&
  (n.text === value || n.text.startsWith(`${value}=`));

/** A declaration (const, function, class member) named `name`. */
const declares = (name: RegExp) => (n: ts.Node) =>
  (ts.isVariableDeclaration(n) || ts.isFunctionDeclaration(n)) &&
  n.name !== undefined &&
  ts.isIdentifier(n.name) &&
  name.test(n.name.text);

test("the EndpointSlice label kubernetes.io/service-name: kube/labels.ts, and the lab's pinned copy", () => {
  const found = find(product, [SERVICE_NAME_LABEL], spells(SERVICE_NAME_LABEL));
  assert.deepEqual(
    files_(found),
    ["kube/labels.ts", "lab/controllers/endpointslice-sync.ts"],
    where(found).join("\n"),
  );
  assert.equal(LAB_SERVICE_NAME_LABEL, SERVICE_NAME_LABEL, "lab/ may not import it: its copy must be equal");
});

test("the label service.kubernetes.io/service-proxy-name: annotations/contract.ts only", () => {
  const found = find(product, ["service-proxy-name"], spells("service.kubernetes.io/service-proxy-name"));
  assert.deepEqual(files_(found), ["annotations/contract.ts"], where(found).join("\n"));
});

test("backends per farm: nftlb/marks.ts only, never a number of its own", () => {
  const decl = find(product, ["MAX_BACKENDS"], declares(/^MAX_BACKENDS/));
  assert.deepEqual(files_(decl), ["nftlb/marks.ts"], where(decl).join("\n"));
  const reexport = find(
    product,
    ["MAX_BACKENDS"],
    (n) => ts.isExportSpecifier(n) && /^MAX_BACKENDS/.test(n.name.text),
  );
  assert.deepEqual(where(reexport), [], "imported from nftlb/marks.ts, not passed on");
  // The TypeScript parser gives a literal's value as text: 0xfff reads "4095".
  const literal = find(
    product,
    ["409", "4_09", "0xfff", "0xFFF", "0xFFE", "0xffe"],
    (n) => ts.isNumericLiteral(n) && ["4094", "4095"].includes(n.text),
  );
  // marks.ts: BACKEND_MARK_MAX = 0xfff, from which the limit is computed.
  assert.deepEqual(files_(literal), ["nftlb/marks.ts"], where(literal).join("\n"));
});

test("interface-name and MAC regexes: nftlb/interfaces.ts only", () => {
  const regex = (re: RegExp) => (n: ts.Node) => ts.isRegularExpressionLiteral(n) && re.test(n.text);
  const iface = find(product, ["{1,15}"], regex(/\{1,15\}/));
  assert.deepEqual(files_(iface), ["nftlb/interfaces.ts"], where(iface).join("\n"));
  const mac = find(product, ["{2}(:"], regex(/\{2\}\(:/));
  assert.deepEqual(files_(mac), ["nftlb/interfaces.ts"], where(mac).join("\n"));
});

test("the helper/protocol matrix: the contract's and the client's (two leaves of the layout) agree", () => {
  const decl = find(product, ["HELPER_PROTOCOLS"], declares(/HELPER_PROTOCOLS$/));
  assert.deepEqual(files_(decl), ["annotations/contract.ts", "nftlb/validate.ts"], where(decl).join("\n"));
  const lower = Object.fromEntries(
    Object.entries(HELPER_PROTOCOLS).map(([h, ps]) => [h, ps.map((p) => p.toLowerCase())]),
  );
  assert.deepEqual(NFTLB_HELPER_PROTOCOLS, lower);
  assert.deepEqual(["none", ...Object.keys(NFTLB_HELPER_PROTOCOLS)], [...HELPERS]);
  // test/nftlb-helpers.test.ts pins both to what the real nftlb accepts.
});

test("nftlb's farm defaults: nftlb/normalise.ts only", () => {
  const decl = find(product, ["_DEFAULTS"], declares(/^(FARM|BACKEND|ADDRESS)_DEFAULTS$/));
  assert.deepEqual(files_(decl), ["nftlb/normalise.ts"], where(decl).join("\n"));
  const prefix = find(product, ["TYPE-FNAME"], spells("TYPE-FNAME "));
  assert.deepEqual(files_(prefix), ["nftlb/normalise.ts"], where(prefix).join("\n"));
});

test("kubeconfig loading: kube/kubeconfig.ts only", () => {
  const made = find(
    product,
    ["KubeConfig"],
    (n) => ts.isNewExpression(n) && ts.isIdentifier(n.expression) && n.expression.text === "KubeConfig",
  );
  assert.deepEqual(files_(made), ["kube/kubeconfig.ts"], where(made).join("\n"));
  const decl = find(product, ["loadKubeConfig"], declares(/^loadKubeConfig$/));
  assert.deepEqual(files_(decl), ["kube/kubeconfig.ts"], where(decl).join("\n"));
});

test("one duration grammar: runtime/duration.ts", () => {
  const decl = find(product, ["parseDuration"], declares(/^parseDuration$/));
  assert.deepEqual(files_(decl), ["runtime/duration.ts"], where(decl).join("\n"));
  const grammar = find(
    product,
    ["ms|s|m|h"],
    (n) => ts.isRegularExpressionLiteral(n) && /\(ms\|s\|m\|h\)/.test(n.text),
  );
  assert.deepEqual(files_(grammar), ["runtime/duration.ts"], where(grammar).join("\n"));
});

test("the tests' polling helper: test/until.ts is the only `until` with a loop of its own", () => {
  const loops = (n: ts.Node): boolean =>
    ts.isForStatement(n) || ts.isWhileStatement(n) || ts.isDoStatement(n) || n.forEachChild(loops) === true;
  const found = find(files, ["function until", "until =", "until: "], (n) => {
    if (!declares(/^until$/i)(n)) return false;
    const body = ts.isFunctionDeclaration(n) ? n.body : (n as ts.VariableDeclaration).initializer;
    return body !== undefined && loops(body);
  });
  assert.deepEqual(files_(found), ["test/until.ts"], where(found).join("\n"));
});

test("the tree was read", () => {
  assert.ok(product.length > 100 && files.includes("test/until.ts"), `${product.length} product files`);
  assert.ok(!files.some((f) => relative(ROOT, join(ROOT, f)).startsWith("..")));
});
