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
