// A benchmark's --help: its file's opening comment, so usage and code cannot drift apart.
import { readFileSync } from "node:fs";
import process from "node:process";

/** Prints the opening `//` comment of the file at `url` and exits when argv asks for help. */
export function helpFromHeader(url: string | URL, argv: readonly string[]): void {
  if (!argv.includes("--help") && !argv.includes("-h")) return;
  const head = readFileSync(new URL(url), "utf8").split("\n");
  const end = head.findIndex((l) => !l.startsWith("//"));
  console.log(
    head
      .slice(0, end)
      .map((l) => l.replace(/^\/\/ ?/, ""))
      .join("\n"),
  );
  process.exit(0);
}

export interface KnownArgs {
  /** What a bare argument must look like. */
  positional?: RegExp;
  /** Options without a value. */
  flags?: readonly string[];
  /** Options followed by a value. */
  options?: readonly string[];
  usage: string;
}

/** Exits 2 with one line naming the first argument `known` does not describe, and the usage. */
export function refuseUnknown(argv: readonly string[], known: KnownArgs): void {
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (known.flags?.includes(a)) continue;
    if (known.options?.includes(a)) {
      if (argv[i + 1] === undefined) fail(`${a} needs a value`, known.usage);
      i++;
      continue;
    }
    if (!a.startsWith("-") && known.positional?.test(a)) continue;
    fail(`unknown argument "${a}"`, known.usage);
  }
}

function fail(why: string, usage: string): never {
  console.error(`${why}\nusage: ${usage}`);
  process.exit(2);
}
