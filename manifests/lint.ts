// Lint findings for loaded manifests: every Service goes through the annotation contract.
import { evaluateService, parseService, type EvaluateOptions } from "../annotations/index.ts";
import type { LoadedPaths, ManifestObject, ParseProblem } from "./load.ts";

export interface LintFinding {
  severity: "error" | "warning";
  source: string;
  line?: number;
  /** `Service <namespace>/<name>`, absent for a file that could not be parsed. */
  object?: string;
  key?: string;
  message: string;
}

export function lintObjects(objects: readonly ManifestObject[], opts: EvaluateOptions = {}): LintFinding[] {
  const findings: LintFinding[] = [];
  for (const { source, line, object, lineOf } of objects) {
    if (object.kind !== "Service") continue;
    const meta = (object.metadata ?? {}) as Record<string, unknown>;
    const id = `Service ${str(meta.namespace) ?? "default"}/${str(meta.name) ?? str(meta.generateName) ?? "(unnamed)"}`;
    const parsed = parseService(object);
    if (!parsed.ok) {
      findings.push({ severity: "error", source, line, object: id, message: parsed.error });
      continue;
    }
    const result = evaluateService(parsed.service, opts);
    const at = (key: string) => lineOfKey({ line, lineOf }, key);
    for (const f of result.errors)
      findings.push({ severity: "error", source, line: at(f.key), object: id, ...f });
    for (const f of result.warnings)
      findings.push({ severity: "warning", source, line: at(f.key), object: id, ...f });
  }
  return findings.sort((a, b) => (a.source === b.source ? (a.line ?? 0) - (b.line ?? 0) : 0));
}

/**
 * The line a finding about `key` points at, when the source lets us: a field (`spec.ports`, or
 * the nearest of its parents that is written), an annotation (its key holds a "/"), else the
 * object's first line. lint and render cite the same line for the same finding.
 */
export function lineOfKey(o: Pick<ManifestObject, "line" | "lineOf">, key: string): number {
  if (o.lineOf === undefined) return o.line;
  if (/^(spec|status|metadata)\./.test(key)) {
    const path = key.split(".");
    for (let n = path.length; n > 0; n--) {
      const at = o.lineOf(path.slice(0, n));
      if (at !== undefined) return at;
    }
    return o.line;
  }
  return key.includes("/") ? (o.lineOf(["metadata", "annotations", key]) ?? o.line) : o.line;
}

export function problemFindings(problems: readonly ParseProblem[]): LintFinding[] {
  return problems.map((p) => ({ severity: "error", source: p.source, line: p.line, message: p.message }));
}

/**
 * Nothing to check is an error, not a pass: `kubectl get … -o yaml | kube-nftlb lint -` whose
 * kubectl failed feeds lint an empty stdin, and without `set -o pipefail` the pipeline's status
 * is lint's. A lint that passed there would hide the failure.
 */
export function emptyInputFinding(loaded: LoadedPaths, paths: readonly string[]): LintFinding | undefined {
  if (loaded.objects.length > 0 || loaded.problems.length > 0 || loaded.unreadable.length > 0)
    return undefined;
  const source = paths.map((p) => (p === "-" ? "<stdin>" : p)).join(", ");
  const what =
    loaded.files.length === 0
      ? "no manifest file (*.yaml, *.yml, *.json) here"
      : "no Kubernetes object in the input (it is empty, or only comments)";
  const pipe = paths.includes("-") ? "; did the command before the pipe fail?" : "";
  return { severity: "error", source, message: `${what}: nothing was checked${pipe}` };
}

export function formatFinding(f: LintFinding): string {
  const where = f.line === undefined ? f.source : `${f.source}:${f.line}`;
  const parts = [where, f.severity, f.object, f.key].filter((x) => x !== undefined);
  return `${parts.join(": ")}: ${f.message}`;
}

const str = (v: unknown): string | undefined => (typeof v === "string" && v !== "" ? v : undefined);
