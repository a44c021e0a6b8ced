// One command-line parser for every command, the product's and the lab's: node:util's parseArgs
// underneath, and around it what each command used to write by hand, differently each time:
// --help and --version, and a usage error as one line that says what is wrong and where to look
// (`run \`kube-nftlb lint --help\``), exit 2. parseArgs' own messages are not passed through:
// they run over several sentences and quote the flag with an unbalanced quote.
// It knows nothing of Services, nftlb or Kubernetes, which is why lab/ may import it too.
import { parseArgs, type ParseArgsOptionsConfig } from "node:util";
import { packageVersion } from "./version.ts";

export interface CommandFlags<O extends ParseArgsOptionsConfig> {
  /** How the command is run, as the hint spells it: "kube-nftlb lint", "npm run lab --". */
  command: string;
  /** What starts an error line; the command when absent ("kube-nftlb lint: …"). */
  prefix?: string;
  /** The whole --help text. */
  help: string;
  /** The command's own flags; --help (-h) and --version are added here. */
  options: O;
  /** Whether the command takes arguments other than flags (paths, a subcommand). */
  positionals?: boolean;
}

type Values<O extends ParseArgsOptionsConfig> = ReturnType<
  typeof parseArgs<{ args: string[]; options: O; allowPositionals: true; strict: true }>
>["values"];

/** What a command prints and returns instead of running: help, the version, a usage error. */
export interface Exit {
  code: number;
  out?: string;
  err?: string;
}

export type Parsed<O extends ParseArgsOptionsConfig> =
  { ok: true; values: Values<O>; positionals: string[] } | { ok: false; exit: Exit };

const BUILTIN = {
  help: { type: "boolean", short: "h" },
  version: { type: "boolean" },
} as const satisfies ParseArgsOptionsConfig;

/** The one-line usage error every command prints, exit 2. */
export function usageError(spec: { command: string; prefix?: string }, message: string): Exit {
  return { code: 2, err: `${spec.prefix ?? spec.command}: ${message}; run \`${spec.command} --help\`` };
}

/** `kube-nftlb 0.1.0`: the package's version, whichever command is asked. */
export const versionExit = (): Exit => ({ code: 0, out: `kube-nftlb ${packageVersion()}` });

/** Prints an Exit (stdout for help and version, stderr for errors) and returns its code. */
export function emit(
  exit: Exit,
  io: { out: (s: string) => void; err: (s: string) => void } = {
    out: (s) => console.log(s),
    err: (s) => console.error(s),
  },
): number {
  if (exit.out !== undefined) io.out(exit.out);
  if (exit.err !== undefined) io.err(exit.err);
  return exit.code;
}

/**
 * argv → the flags' values and the positionals, or what to print instead. --help and --version
 * win over anything else on the line (`lint --bogus --help` shows the help), so a user who asks
 * for them always gets them.
 */
export function parseFlags<const O extends ParseArgsOptionsConfig>(
  spec: CommandFlags<O>,
  argv: string[],
): Parsed<O> {
  const options = { ...spec.options, ...BUILTIN } as ParseArgsOptionsConfig;
  const { tokens } = parseArgs({ args: argv, options, allowPositionals: true, strict: false, tokens: true });
  const asked = (name: string) => tokens.some((t) => t.kind === "option" && t.name === name);
  if (asked("help")) return { ok: false, exit: { code: 0, out: spec.help } };
  if (asked("version")) return { ok: false, exit: versionExit() };
  const wrong = firstProblem(tokens, options, spec.positionals === true);
  if (wrong !== undefined) return { ok: false, exit: usageError(spec, wrong) };
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      options: spec.options,
      allowPositionals: spec.positionals === true,
      strict: true,
    });
  } catch (err) {
    // Not reached by any argv the checks above know; kept to one line all the same.
    return { ok: false, exit: usageError(spec, firstSentence((err as Error).message)) };
  }
  return { ok: true, values: parsed.values, positionals: parsed.positionals };
}

type Token = NonNullable<ReturnType<typeof parseArgs>["tokens"]>[number];

/** The first thing wrong with the line, in the user's own spelling of the flag. */
function firstProblem(
  tokens: Token[],
  options: ParseArgsOptionsConfig,
  positionals: boolean,
): string | undefined {
  for (const t of tokens) {
    if (t.kind === "positional") {
      if (!positionals)
        return `unexpected argument ${JSON.stringify(t.value)} (this command takes flags only)`;
      continue;
    }
    if (t.kind !== "option") continue;
    const o = options[t.name];
    if (o === undefined) return `unknown flag ${t.rawName}`;
    const flag = t.rawName.startsWith("--") ? t.rawName : `${t.rawName} (--${t.name})`;
    if (o.type === "boolean" && t.value !== undefined) return `${flag} takes no value`;
    // `--output --help`: the value was forgotten and the next flag swallowed; say so.
    if (o.type === "string" && (t.value === undefined || (!t.inlineValue && t.value.startsWith("-"))))
      return `${flag} needs a value`;
  }
  return undefined;
}

const firstSentence = (message: string): string => message.split(/\.\s|\n/)[0]!.replace(/'/g, "");
