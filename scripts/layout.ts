// The layout table of README.md ("may import"), and the check of an import graph against it.
// Pure: the graph comes from scripts/import-graph.ts. README's table is the one definition; this
// reads it rather than repeating it, so the page and the check cannot drift apart.

/** What a folder may import besides itself: rooms (`syncer`) and single files (`nftlb/types.ts`). */
export type Allowance = "anything" | { rooms: string[]; files: string[] };
export type Layout = Map<string, Allowance>;

/** One file of the graph: its path from the repository root and what it imports. */
export interface Module {
  path: string;
  /** Repository files it imports (resolved, from the root). */
  imports: string[];
  /** Package and node: specifiers it imports. */
  packages: string[];
}

/** Modules only tests use; the build leaves them out of dist/ (tsconfig.build.json's exclude). */
export const TEST_ONLY = /(\.test|\.test-helpers)\.ts$|(^|\/)fake-[^/]+\.ts$/;

/** What makes a test end-to-end: processes, sockets, servers, files, or the lab. */
const END_TO_END =
  /^(node:)?(child_process|net|http|https|http2|tls|dgram|fs|fs\/promises)$|^supertest$|^@kubernetes\/client-node$/;

export const roomOf = (path: string): string => (path.includes("/") ? path.slice(0, path.indexOf("/")) : "");

/** The table under `## Layout`: folder cells in backticks, and the "may import" column. */
export function parseLayout(readme: string): Layout | { error: string } {
  const section = readme.split(/^## /m).find((s) => s.startsWith("Layout\n"));
  if (section === undefined) return { error: "README.md has no `## Layout` section" };
  const rows = section
    .split("\n")
    .filter((l) => l.startsWith("| `"))
    .map((l) => l.split("|").map((c) => c.trim()));
  const layout: Layout = new Map();
  for (const [, folders = "", , may = ""] of rows) {
    const names = [...folders.matchAll(/`([^`/]+)\/`/g)].map((m) => m[1]!);
    const ticked = [...may.matchAll(/`([^`]+)`/g)].map((m) => m[1]!);
    const allowance: Allowance = /^anything\b/.test(may)
      ? "anything"
      : /^everything above\b/.test(may)
        ? { rooms: [...layout.keys()], files: [] }
        : {
            rooms: ticked.filter((t) => t.endsWith("/")).map((t) => t.slice(0, -1)),
            files: ticked.filter((t) => !t.endsWith("/")),
          };
    for (const name of names) layout.set(name, allowance);
  }
  if (layout.size === 0) return { error: "README.md's layout table has no rows" };
  return layout;
}

export interface Check {
  layout: Layout;
  /** The rooms tsconfig.build.json compiles into dist/. */
  built: string[];
  /** The modules `kube-nftlb` starts from (each command's cli/<name>.ts). */
  entries: string[];
}

/** Every way the graph breaks the layout, as sentences naming the files. */
export function checkLayout(modules: Module[], { layout, built, entries }: Check): string[] {
  const problems: string[] = [];
  const byPath = new Map(modules.map((m) => [m.path, m]));
  const unknown = new Set<string>();
  for (const m of modules) {
    const room = roomOf(m.path);
    if (room === "") continue; // config files at the root
    const allowance = layout.get(room);
    if (allowance === undefined) {
      if (!unknown.has(room)) problems.push(`${room}/ (${m.path}) is not in README.md's layout table`);
      unknown.add(room);
      continue;
    }
    for (const to of m.imports) {
      const target = roomOf(to);
      if (target !== room && !allows(allowance, to) && !sharedTestHelper(m.path, to, byPath))
        problems.push(`${m.path} imports ${to}: ${room}/ may import ${describe(allowance)}`);
      if (built.includes(room) && !TEST_ONLY.test(m.path) && TEST_ONLY.test(to))
        problems.push(`${m.path} ships in dist/ but imports the test-only ${to}`);
    }
    if (room === "test" && m.path.endsWith(".test.ts") && !endToEnd(m, byPath))
      problems.push(
        `${m.path} starts no process, server or lab and touches no file: a unit test sits beside the file it tests`,
      );
  }
  const used = reachable(entries, byPath);
  for (const m of modules)
    if (built.includes(roomOf(m.path)) && !TEST_ONLY.test(m.path) && !used.has(m.path))
      problems.push(
        `${m.path} ships in dist/ but no command uses it: name a test-only module *.test-helpers.ts or fake-*.ts`,
      );
  return problems;
}

/** Tests anywhere may use test/'s helpers that import nothing of ours (the polling helper). */
const sharedTestHelper = (from: string, to: string, byPath: Map<string, Module>): boolean =>
  TEST_ONLY.test(from) &&
  roomOf(to) === "test" &&
  !to.endsWith(".test.ts") &&
  byPath.get(to)?.imports.length === 0;

const allows = (a: Allowance, to: string): boolean =>
  a === "anything" || a.rooms.includes(roomOf(to)) || a.files.includes(to);

const describe = (a: Allowance): string =>
  a === "anything"
    ? "anything"
    : [...a.rooms.map((r) => `${r}/`), ...a.files].join(", ") || "nothing of ours";

/** A test in test/ (or a test/ helper it imports) reaching for the lab or the outside world. */
function endToEnd(m: Module, byPath: Map<string, Module>, seen = new Set<string>()): boolean {
  if (seen.has(m.path)) return false;
  seen.add(m.path);
  if (m.packages.some((p) => END_TO_END.test(p))) return true;
  return m.imports.some((to) => {
    if (roomOf(to) === "lab") return true;
    const helper = byPath.get(to);
    return roomOf(to) === "test" && helper !== undefined && endToEnd(helper, byPath, seen);
  });
}

function reachable(entries: string[], byPath: Map<string, Module>): Set<string> {
  const seen = new Set<string>();
  const stack = [...entries];
  for (let p = stack.pop(); p !== undefined; p = stack.pop()) {
    if (seen.has(p)) continue;
    seen.add(p);
    stack.push(...(byPath.get(p)?.imports ?? []));
  }
  return seen;
}
