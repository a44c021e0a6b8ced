// `kube-nftlb lint PATH...`: offline validation of kube-nftlb annotations.
import { buffer } from "node:stream/consumers";
import { emit, parseFlags, usageError } from "../flags/flags.ts";
import { loadPaths, UsageError } from "../manifests/load.ts";
import {
  emptyInputFinding,
  formatFinding,
  lintObjects,
  problemFindings,
  type LintFinding,
} from "../manifests/lint.ts";

const HELP = `Usage: kube-nftlb lint [--output text|json] PATH...

Checks the kube-nftlb annotations of every Service in the manifests, offline.
PATH is a file, a directory (searched recursively for *.yaml, *.yml, *.json) or - for stdin.
Multi-document YAML and kind: List are read; objects other than Services are skipped.

An unrendered Helm template ({{ … }}) is not read: render it first (helm template … | lint -).

Exit status: 0 no errors (warnings allowed), 1 an invalid manifest or annotation, or nothing to
check (an empty input: a failed \`kubectl get … |\` feeds lint nothing), 2 usage error or
unreadable path.

Flags:
  -o, --output FORMAT   text (default) or json
  -h, --help            show this help
      --version         print kube-nftlb's version`;

const FLAGS = {
  command: "kube-nftlb lint",
  help: HELP,
  positionals: true,
  options: { output: { type: "string", short: "o", default: "text" } },
} as const;

export async function run(argv: string[]): Promise<number> {
  const parsed = parseFlags(FLAGS, argv);
  if (!parsed.ok) return emit(parsed.exit);
  const { values, positionals } = parsed;
  if (values.output !== "text" && values.output !== "json")
    return emit(usageError(FLAGS, `--output must be "text" or "json", got "${values.output}"`));
  if (positionals.length === 0) return emit(usageError(FLAGS, "no PATH given"));

  let loaded;
  try {
    loaded = await loadPaths(positionals, () => buffer(process.stdin));
  } catch (err) {
    if (err instanceof UsageError) {
      console.error(`kube-nftlb lint: ${err.message}`);
      return 2;
    }
    throw err;
  }
  const { files, objects } = loaded;
  const findings: LintFinding[] = problemFindings([...loaded.unreadable, ...loaded.problems]);
  findings.push(...lintObjects(objects));
  const empty = emptyInputFinding(loaded, positionals);
  if (empty !== undefined) findings.push(empty);

  const services = objects.filter((o) => o.object.kind === "Service").length;
  const errors = findings.filter((f) => f.severity === "error").length;
  if (values.output === "json") {
    console.log(JSON.stringify({ files: files.length, services, errors, findings }, null, 2));
  } else {
    for (const f of findings) (f.severity === "error" ? console.error : console.log)(formatFinding(f));
    const warnings = findings.length - errors;
    console.error(
      `${files.length} file(s), ${services} Service(s): ${errors} error(s), ${warnings} warning(s)`,
    );
  }
  if (loaded.unreadable.length > 0) return 2;
  return errors > 0 ? 1 : 0;
}
