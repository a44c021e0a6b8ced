// The layout of README.md holds for the repository, and each kind of crossing is caught: fed as a
// graph, and written as files the import-graph reader has to find.
import { after, describe, it } from "node:test";
import assert from "node:assert/strict";
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { builtRooms, importGraph } from "./import-graph.ts";
import { checkLayout, parseLayout, TEST_ONLY, type Layout, type Module } from "./layout.ts";

const ROOT = join(import.meta.dirname, "..");

function layoutOf(root: string): Layout {
  const layout = parseLayout(readFileSync(join(root, "README.md"), "utf8"));
  assert.ok(!("error" in layout), "README.md has a layout table");
  return layout;
}
const LAYOUT = layoutOf(ROOT);
const BUILT = builtRooms(ROOT);
const entriesOf = (modules: Module[]) =>
  modules.map((m) => m.path).filter((p) => p.startsWith("cli/") && !TEST_ONLY.test(p));

/** A graph of a few modules; `cli/main.ts` uses every shipped module unless told otherwise. */
function check(graph: Record<string, string[]>, unused: string[] = []): string[] {
  const modules: Module[] = Object.entries(graph).map(([path, specifiers]) => ({
    path,
    imports: specifiers.filter((s) => s.includes("/") && !s.startsWith("node:")),
    packages: specifiers.filter((s) => !s.includes("/") || s.startsWith("node:")),
  }));
  const shipped = modules
    .map((m) => m.path)
    .filter((p) => BUILT.includes(p.split("/")[0]!) && !TEST_ONLY.test(p) && !unused.includes(p));
  modules.push({ path: "cli/main.ts", imports: shipped, packages: [] });
  return checkLayout(modules, { layout: LAYOUT, built: BUILT, entries: ["cli/main.ts"] });
}

describe("the layout table", () => {
  it("reads README.md's may-import column", () => {
    assert.deepEqual(LAYOUT.get("annotations"), { rooms: [], files: [] });
    const syncer = LAYOUT.get("syncer") as { rooms: string[] };
    for (const room of ["annotations", "nftlb", "kube", "runtime"])
      assert.ok(syncer.rooms.includes(room), room);
    assert.ok(!syncer.rooms.includes("webhook"));
    assert.deepEqual(
      (LAYOUT.get("cli") as { rooms: string[] }).rooms.sort(),
      [...BUILT].filter((r) => r !== "cli").sort(),
    );
    assert.ok((LAYOUT.get("lab") as { files: string[] }).files.includes("nftlb/types.ts"));
    assert.equal(LAYOUT.get("bench"), "anything");
    assert.equal(LAYOUT.get("test"), "anything");
  });

  it("a README without the table is an error, not an empty layout", () => {
    assert.deepEqual(parseLayout("# kube-nftlb\n\n## Usage\n"), {
      error: "README.md has no `## Layout` section",
    });
  });
});

describe("the repository", () => {
  it("keeps its layout", () => {
    const modules = importGraph(ROOT);
    assert.ok(
      modules.length > 100 && modules.some((m) => m.path === "syncer/plan.ts"),
      "the graph holds the sources",
    );
    assert.deepEqual(checkLayout(modules, { layout: LAYOUT, built: BUILT, entries: entriesOf(modules) }), []);
  });
});

describe("each crossing is caught", () => {
  const cases: [string, Record<string, string[]>, RegExp][] = [
    [
      "a room importing a room it may not",
      { "syncer/plan.ts": ["webhook/mutate.ts"], "webhook/mutate.ts": [] },
      /^syncer\/plan\.ts imports webhook\/mutate\.ts: syncer\/ may import annotations\/, nftlb\/, kube\/, runtime\//,
    ],
    [
      "the pure core importing anything of ours",
      { "annotations/evaluate.ts": ["nftlb/types.ts"], "nftlb/types.ts": [] },
      /annotations\/ may import nothing of ours/,
    ],
    [
      "lab importing the product",
      { "lab/net/farms.ts": ["syncer/desired.ts"], "syncer/desired.ts": [] },
      /^lab\/net\/farms\.ts imports syncer\/desired\.ts/,
    ],
    [
      "a unit test beside its file reaching for the lab (an end-to-end test, for test/)",
      { "syncer/plan.test.ts": ["lab/net/index.ts"], "lab/net/index.ts": [] },
      /^syncer\/plan\.test\.ts imports lab\/net\/index\.ts/,
    ],
    [
      "shipped code importing a fake",
      { "syncer/worker.ts": ["syncer/fake-nftlb.ts"], "syncer/fake-nftlb.ts": [] },
      /^syncer\/worker\.ts ships in dist\/ but imports the test-only syncer\/fake-nftlb\.ts$/,
    ],
    [
      "shipped code importing test helpers",
      {
        "webhook/app.ts": ["webhook/review-fixtures.test-helpers.ts"],
        "webhook/review-fixtures.test-helpers.ts": [],
      },
      /test-only webhook\/review-fixtures\.test-helpers\.ts/,
    ],
    [
      "a pure test in test/",
      { "test/plan.test.ts": ["node:test", "node:assert/strict", "syncer/plan.ts"], "syncer/plan.ts": [] },
      /^test\/plan\.test\.ts starts no process, server or lab and touches no file: a unit test sits beside the file it tests$/,
    ],
    [
      "a unit test reaching the lab through a test/ helper",
      {
        "syncer/plan.test.ts": ["test/lab-fixture.ts"],
        "test/lab-fixture.ts": ["lab/net/index.ts"],
        "lab/net/index.ts": [],
      },
      /^syncer\/plan\.test\.ts imports test\/lab-fixture\.ts/,
    ],
    [
      "a folder the table does not name",
      { "tools/gen.ts": [] },
      /^tools\/ \(tools\/gen\.ts\) is not in README\.md's layout table$/,
    ],
  ];
  for (const [name, graph, problem] of cases)
    it(name, () => {
      const problems = check(graph);
      assert.equal(problems.length, 1, problems.join("\n"));
      assert.match(problems[0]!, problem);
    });

  it("a shipped module no command uses (test-only code in dist/, or dead code)", () => {
    assert.deepEqual(check({ "syncer/plan-send.ts": [] }, ["syncer/plan-send.ts"]), [
      "syncer/plan-send.ts ships in dist/ but no command uses it: name a test-only module *.test-helpers.ts or fake-*.ts",
    ]);
  });

  it("allowed: what the table allows, tests beside their files, end-to-end tests in test/", () => {
    assert.deepEqual(
      check({
        "syncer/plan.ts": ["nftlb/types.ts", "annotations/index.ts", "syncer/plan-marks.ts"],
        "syncer/plan-marks.ts": [],
        "syncer/plan.test.ts": [
          "syncer/plan.ts",
          "kube/fake-timers.ts",
          "syncer/fake-nftlb.ts",
          "test/until.ts",
        ],
        "lab/controllers/work.test.ts": ["test/until.ts"],
        "test/until.ts": [],
        "kube/fake-timers.ts": [],
        "syncer/fake-nftlb.ts": [],
        "lab/net/farms.ts": ["nftlb/types.ts"],
        "bench/syncer.ts": ["syncer/fake-nftlb.ts", "lab/net/index.ts", "test/lab-fixture.ts"],
        "lab/net/index.ts": [],
        "test/lab-fixture.ts": ["lab/net/index.ts"],
        "test/lab.test.ts": ["node:test", "test/lab-fixture.ts"],
        "test/cli.test.ts": ["node:child_process"],
        "nftlb/types.ts": [],
        "annotations/index.ts": [],
      }),
      [],
    );
  });
});

describe("the import-graph reader", () => {
  const dir = mkdtempSync(join(tmpdir(), "layout-"));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const write = (path: string, text: string) => {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), text);
  };

  it("finds static, re-exported, type-only and literal dynamic imports", () => {
    for (const f of ["README.md", "tsconfig.build.json"]) cpSync(join(ROOT, f), join(dir, f));
    write("cli/main.ts", 'import { a } from "../syncer/a.ts";\nconsole.log(a);\n');
    write(
      "syncer/a.ts",
      'export { b as a } from "../webhook/b.ts";\nimport type { C } from "../certs/c.ts";\n',
    );
    write("webhook/b.ts", 'export const b = 1;\nexport const later = () => import("../syncer/a.ts");\n');
    write("certs/c.ts", "export type C = number;\n");
    write("node_modules/x/index.ts", 'import "../../lab/y.ts";\n');
    const modules = importGraph(dir);
    assert.deepEqual(
      modules.map((m) => m.path),
      ["certs/c.ts", "cli/main.ts", "syncer/a.ts", "webhook/b.ts"],
    );
    const problems = checkLayout(modules, {
      layout: layoutOf(dir),
      built: builtRooms(dir),
      entries: ["cli/main.ts"],
    });
    assert.deepEqual(
      problems.map((p) => p.slice(0, p.indexOf(":"))),
      [
        "syncer/a.ts imports webhook/b.ts",
        "syncer/a.ts imports certs/c.ts",
        "webhook/b.ts imports syncer/a.ts",
      ],
    );
  });
});
