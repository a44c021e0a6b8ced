// The package's version, read from its package.json: the one place it is written. Looked up from
// this file upwards, because the file sits at flags/ in a checkout and at dist/flags/ in the
// image (whose /app/package.json is the checkout's).
import { readFileSync } from "node:fs";

let cached: string | undefined;

export function packageVersion(): string {
  if (cached !== undefined) return cached;
  for (const up of ["../package.json", "../../package.json"]) {
    let pkg: { name?: unknown; version?: unknown };
    try {
      pkg = JSON.parse(readFileSync(new URL(up, import.meta.url), "utf8")) as typeof pkg;
    } catch {
      continue;
    }
    if (pkg.name === "kube-nftlb" && typeof pkg.version === "string") return (cached = pkg.version);
  }
  return (cached = "unknown");
}
