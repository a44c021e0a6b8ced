// The repository's import graph as scripts/layout.ts checks it: every .ts/.js file outside
// node_modules and dist/, with the imports the TypeScript compiler's own pre-processor finds
// (static imports, `export … from`, `import type`, and `import("…")` with a literal).
import { globSync, readFileSync } from "node:fs";
import { dirname, join, normalize } from "node:path";
import ts from "typescript";
import type { Module } from "./layout.ts";

export function importGraph(root: string): Module[] {
  const files = globSync("**/*.{ts,js}", {
    cwd: root,
    exclude: (f) => /(^|\/)(node_modules|\.git)(\/|$)|^dist(\/|$)/.test(f),
  }).sort();
  return files.map((path) => {
    const specifiers = ts
      .preProcessFile(readFileSync(join(root, path), "utf8"), true, true)
      .importedFiles.map((f) => f.fileName);
    return {
      path,
      imports: specifiers.filter((s) => s.startsWith(".")).map((s) => normalize(join(dirname(path), s))),
      packages: specifiers.filter((s) => !s.startsWith(".")),
    };
  });
}

/** The rooms tsconfig.build.json compiles. */
export function builtRooms(root: string): string[] {
  const config = ts.readConfigFile(join(root, "tsconfig.build.json"), (p) => ts.sys.readFile(p));
  return (config.config as { include: string[] }).include;
}
