// `--defaults-file`: an operator's cluster defaults as YAML, e.g. `scheduler: symhash`.
import { readFile } from "node:fs/promises";
import { parse } from "yaml";
import { parseDefaults, type ClusterDefaults } from "../annotations/index.ts";

export async function loadDefaultsFile(
  file: string,
): Promise<{ ok: true; defaults: ClusterDefaults } | { ok: false; error: string }> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (err) {
    return { ok: false, error: `cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? String(err)}` };
  }
  let doc: unknown;
  try {
    doc = parse(text, { maxAliasCount: 10 });
  } catch (err) {
    return { ok: false, error: `${file} is not valid YAML: ${(err as Error).message.split("\n")[0]}` };
  }
  const r = parseDefaults(doc);
  return r.ok ? r : { ok: false, error: `${file}: ${r.error}` };
}
