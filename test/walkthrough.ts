// A documented walk-through, run as written. A Markdown file marks each shell block of a
// walk-through with a line `<!-- walkthrough: NAME -->` right before its ```sh fence; the blocks
// of one NAME, in order, are one script. In a block, a comment line directly after a command
// (no blank line between) is what that command prints: several such lines are one promise,
// whitespace runs are equal, `…` stands for anything, and " or " separates alternatives. A
// command without a promise must exit 0. Used by test/readme-walkthrough.test.ts (once) and
// scripts/walkthrough.ts (N fresh labs).
import { execFileSync, spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";

export interface Step {
  /** 1-based line in the Markdown file */
  line: number;
  command: string;
  promise?: string;
}

const MARK = /^<!-- walkthrough: ([\w-]+) -->$/;

/** The steps of walk-through `name` in `markdown`; throws when a mark is not followed by a ```sh block. */
export function walkthroughSteps(markdown: string, name: string): Step[] {
  const lines = markdown.split("\n");
  const steps: Step[] = [];
  let blocks = 0;
  for (let i = 0; i < lines.length; i++) {
    const m = MARK.exec(lines[i]!.trim());
    if (m?.[1] !== name) continue;
    if (lines[i + 1]?.trim() !== "```sh")
      throw new Error(`line ${i + 1}: the walk-through mark must be followed by a \`\`\`sh block`);
    blocks++;
    let last: Step | undefined;
    for (i += 2; i < lines.length && lines[i]!.trim() !== "```"; i++) {
      const text = lines[i]!.trim();
      if (text === "") last = undefined;
      else if (text.startsWith("#")) {
        const said = text.replace(/^#\s?/, "");
        if (last !== undefined) last.promise = last.promise === undefined ? said : `${last.promise}\n${said}`;
      } else {
        last = { line: i + 1, command: lines[i]! };
        steps.push(last);
      }
    }
    if (i >= lines.length) throw new Error(`walk-through ${name}: a block is not closed`);
  }
  if (blocks === 0)
    throw new Error(`no walk-through named ${name} (<!-- walkthrough: ${name} --> before a \`\`\`sh block)`);
  return steps;
}

const squash = (s: string) => s.replace(/\s+/g, " ").trim();
const pattern = (promise: string) =>
  new RegExp(
    `^${squash(promise)
      .split("…")
      .map((p) => p.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"))
      .join(".*")}$`,
    "s",
  );

/** Whether `output` is what `promise` says (see the header). */
export function keeps(promise: string, output: string): boolean {
  const out = squash(output);
  return [promise, ...squash(promise).split(" or ")].some((p) => pattern(p).test(out));
}

export interface StepResult {
  step: Step;
  output: string;
  code: number;
  ok: boolean;
}

export interface WalkthroughRun {
  ok: boolean;
  results: StepResult[];
  /** what went wrong, one line per failed or unreached step */
  problems: string[];
}

/**
 * Runs the steps as one bash script in `cwd` (so variables carry over, as when pasted), stdout and
 * stderr together, with `rewrite` applied to each command and promise (the lab directory). Steps
 * after one that never finished (the deadline) are reported as not reached.
 */
export async function runWalkthrough(
  steps: readonly Step[],
  o: { cwd: string; rewrite?: (command: string) => string; timeoutMs: number; env?: NodeJS.ProcessEnv },
): Promise<WalkthroughRun> {
  const tag = `@@walkthrough-${process.pid}-${Date.now()}`;
  const script = [
    "exec 2>&1",
    // The marks start on a line of their own even after output without a final newline.
    ...steps.flatMap((s, i) => [
      `printf '\\n${tag} start ${i}\\n'`,
      o.rewrite ? o.rewrite(s.command) : s.command,
      `__rc=$?; printf '\\n${tag} rc ${i} %s\\n' "$__rc"`,
    ]),
  ].join("\n");
  const output = await new Promise<string>((resolve) => {
    const child = spawn("bash", ["--norc", "--noprofile"], { cwd: o.cwd, env: o.env ?? process.env });
    let out = "";
    child.stdout.setEncoding("utf8").on("data", (d: string) => (out += d));
    const timer = setTimeout(() => child.kill("SIGKILL"), o.timeoutMs);
    child.on("close", () => {
      clearTimeout(timer);
      resolve(out);
    });
    child.stdin.end(`${script}\n`);
  });
  const results: StepResult[] = [];
  const problems: string[] = [];
  const parts = output.split(new RegExp(`^${tag} `, "m"));
  const seen = new Map<number, { output: string; code?: number }>();
  for (const part of parts) {
    const start = /^start (\d+)\n/.exec(part);
    const rc = /^rc (\d+) (\d+)\n?/.exec(part);
    if (start) seen.set(Number(start[1]), { output: part.slice(start[0].length) });
    else if (rc) {
      const s = seen.get(Number(rc[1]));
      if (s) s.code = Number(rc[2]);
    }
  }
  steps.forEach((step, i) => {
    const s = seen.get(i);
    if (s?.code === undefined) {
      problems.push(`line ${step.line}: ${s ? "did not finish" : "not reached"}: ${step.command.trim()}`);
      return;
    }
    const promise = step.promise === undefined ? undefined : (o.rewrite?.(step.promise) ?? step.promise);
    const ok = promise === undefined ? s.code === 0 : keeps(promise, s.output);
    results.push({ step, output: s.output, code: s.code, ok });
    if (!ok)
      problems.push(
        `line ${step.line}: ${step.command.trim()}\n  ${promise === undefined ? `exit ${s.code}` : `promised: ${squash(promise ?? "")}`}\n  printed: ${squash(s.output) || "(nothing)"}`,
      );
  });
  return { ok: problems.length === 0, results, problems };
}

const ROOT = path.join(import.meta.dirname, "..");

/**
 * One fresh lab through walk-through `name` of `file` (README.md's "lab", docs/lab.md's
 * "lab-guide"), in a temporary directory instead of /tmp/lab; always takes the lab down.
 */
export async function walkthroughOnce(file = "README.md", name = "lab"): Promise<WalkthroughRun> {
  const dir = mkdtempSync(path.join(tmpdir(), "kube-nftlb-walkthrough-"));
  try {
    return await runWalkthrough(walkthroughSteps(readFileSync(path.join(ROOT, file), "utf8"), name), {
      cwd: ROOT,
      rewrite: (c) => c.replaceAll("/tmp/lab", dir),
      timeoutMs: 180_000,
    });
  } finally {
    // Whatever the walk-through reached, nothing of the lab stays.
    execFileSync(process.execPath, [path.join(ROOT, "lab", "cli.ts"), "down", "--dir", dir], {
      stdio: "ignore",
    });
    rmSync(dir, { recursive: true, force: true });
  }
}
