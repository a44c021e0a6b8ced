// The README's "Try it" lab walk-through (the block marked `<!-- walkthrough: lab -->`) and
// docs/lab.md's (`lab-guide`), run exactly as written, each on a fresh lab: every command exits 0
// or prints what the comment under it promises. Only the lab directory differs (/tmp/lab → a
// temporary one, so parallel runs do not meet). scripts/walkthrough.ts runs the README's on N
// fresh labs and counts.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import path from "node:path";
import { describe, it } from "node:test";
import { whyNoLab } from "./lab-fixture.ts";
import { keeps, walkthroughOnce, walkthroughSteps } from "./walkthrough.ts";

const ROOT = path.join(import.meta.dirname, "..");
const README = readFileSync(path.join(ROOT, "README.md"), "utf8");
const skip = whyNoLab() ?? (process.getuid?.() === 0 ? undefined : "needs root (the lab)");

describe("the README's walk-through marks", () => {
  it("the lab walk-through is found, with its promises", () => {
    const steps = walkthroughSteps(README, "lab");
    assert.match(steps[0]?.command ?? "", /^npm run lab -- up --dir \/tmp\/lab$/);
    assert.match(steps.at(-1)?.command ?? "", /^npm run lab -- down --dir \/tmp\/lab$/);
    const curl = steps.find((s) => s.command.includes("curl -sS --max-time 2"));
    assert.equal(curl?.promise, "web-0 web-1 web-0 web-1 or web-1 web-0 web-1 web-0");
    assert.ok(
      steps.some((s) => s.command.startsWith("kubectl wait ")),
      "it waits for readiness",
    );
    assert.ok(!steps.some((s) => /curl -s /.test(s.command)), "no curl -s hiding a failure");
  });
  it("promises: whitespace, … and alternatives", () => {
    assert.ok(keeps("web-0 web-1 or web-1 web-0", "web-1\nweb-0\n"));
    assert.ok(!keeps("web-0 web-1 or web-1 web-0", "web-0\ncurl: (7) Failed to connect\n"));
    assert.ok(keeps('denied: … did you mean "rr"? …', 'denied: x y did you mean "rr"? Valid values: rr\n'));
    assert.ok(!keeps("a", "a b"));
  });
  it("a mark without a ```sh block under it is an error, not an empty walk-through", () => {
    assert.throws(() => walkthroughSteps("<!-- walkthrough: lab -->\ntext\n", "lab"), /must be followed/);
    assert.throws(() => walkthroughSteps("nothing here", "lab"), /no walk-through named lab/);
  });
});

for (const [file, name] of [
  ["README.md", "lab"],
  ["docs/lab.md", "lab-guide"],
] as const) {
  describe(`${file}'s walk-through on a fresh lab`, { skip: skip ?? false, timeout: 240_000 }, () => {
    it("prints what it promises, every command run", async () => {
      const run = await walkthroughOnce(file, name);
      assert.ok(run.ok, run.problems.join("\n"));
      const steps = walkthroughSteps(readFileSync(path.join(ROOT, file), "utf8"), name);
      assert.equal(run.results.length, steps.length);
    });
  });
}
