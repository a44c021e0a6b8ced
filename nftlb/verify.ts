// After a write, compare what nftlb reports with what was sent: a 200 only means its parser
// took the request. A farm in config_error, or a backend or address that did not stick, is a
// failure the caller must hear about.
import type { Farm } from "./types.ts";
import type { BackendPatch, FarmPatch } from "./serialize.ts";

/** What each backend named in `patches` should be once applied in order (renames followed). */
const expected = (patches: readonly BackendPatch[]): BackendPatch[] => {
  const out = new Map<string, BackendPatch>();
  for (const { newname, ...p } of patches) {
    const merged = { ...out.get(p.name), ...p };
    if (newname !== undefined && newname !== p.name) {
      out.delete(p.name);
      out.set(newname, { ...merged, name: newname });
    } else out.set(p.name, merged);
  }
  return [...out.values()];
};

export const verifyWritten = (sent: readonly FarmPatch[], actual: ReadonlyMap<string, Farm>): string[] => {
  const problems: string[] = [];
  for (const want of sent) {
    const got = actual.get(want.name);
    if (got === undefined) {
      problems.push(`farm "${want.name}" is missing`);
      continue;
    }
    if (got.state === "config_error") problems.push(`farm "${want.name}" is in config_error`);
    const intra = want["intra-connect"];
    if (intra !== undefined && (got["intra-connect"] ?? "off") !== intra)
      problems.push(`farm "${want.name}" has intra-connect ${got["intra-connect"] ?? "off"}, not ${intra}`);
    for (const a of want.addresses ?? []) {
      const g = got.addresses.find((x) => x.name === a.name);
      if (!g || g["ip-addr"] !== a["ip-addr"] || g.ports !== a.ports || g.protocol !== a.protocol) {
        problems.push(
          `farm "${want.name}" address "${a.name}" is not ${a.protocol} ${a["ip-addr"]}:${a.ports}`,
        );
      }
    }
    for (const b of expected(want.backends ?? [])) {
      const g = got.backends.find((x) => x.name === b.name);
      const state = b.state ?? "up";
      if (!g) problems.push(`farm "${want.name}" backend "${b.name}" is missing`);
      else if (b["ip-addr"] !== undefined && g["ip-addr"] !== b["ip-addr"]) {
        problems.push(`farm "${want.name}" backend "${b.name}" has ip-addr ${g["ip-addr"]}`);
      } else if (b.port !== undefined && g.port !== b.port) {
        problems.push(`farm "${want.name}" backend "${b.name}" has port "${g.port}"`);
        // "available": standby behind a lower priority — up as far as we asked.
      } else if (g.state !== state && !(state === "up" && g.state === "available")) {
        problems.push(`farm "${want.name}" backend "${b.name}" is ${g.state}, not ${state}`);
      }
    }
  }
  return problems;
};
