// Cluster defaults: what the mutating webhook writes into Services that leave a key unset.
import { parse } from "yaml";
import { z } from "zod";
import {
  BUILTIN_DEFAULTS,
  DEFAULTED_FULL_KEYS,
  DEFAULTED_KEYS,
  HELPER_PROTOCOLS,
  HELPERS,
  LOGS,
  MODES,
  SCHEDULERS,
} from "./contract.ts";
import type { ClusterDefaults, DefaultedKey } from "./contract.ts";
import type { Service } from "./service.ts";
import { externalPolicyLocal } from "./client-address.ts";

const defaultsSchema = z.strictObject({
  mode: z.enum(MODES).optional(),
  scheduler: z.enum(SCHEDULERS).optional(),
  helper: z.enum(HELPERS).optional(),
  log: z.enum(LOGS).optional(),
});

/** Parse an operator's defaults document (e.g. `scheduler: symhash`); unset keys keep the built-ins. */
export function parseDefaults(
  doc: unknown,
): { ok: true; defaults: ClusterDefaults } | { ok: false; error: string } {
  const r = defaultsSchema.safeParse(doc ?? {});
  if (!r.success) {
    const msgs = r.error.issues.map((i) => `${i.path.join(".") || "(document)"}: ${i.message}`);
    return { ok: false, error: `invalid defaults: ${msgs.join("; ")}` };
  }
  const defaults = { ...BUILTIN_DEFAULTS };
  for (const key of DEFAULTED_KEYS) {
    const v = r.data[key];
    if (v !== undefined) (defaults as Record<DefaultedKey, string>)[key] = v;
  }
  return { ok: true, defaults };
}

/**
 * The text of a defaults file (`--defaults-file`, the same for the webhook and the syncer), as
 * YAML; errors name `file`. Reading it is the caller's (runtime/watched-files.ts).
 */
export function parseDefaultsYaml(
  text: string,
  file: string,
): { ok: true; value: ClusterDefaults } | { ok: false; error: string } {
  let doc: unknown;
  try {
    doc = parse(text, { maxAliasCount: 10 });
  } catch (err) {
    return { ok: false, error: `${file} is not valid YAML: ${(err as Error).message.split("\n")[0]}` };
  }
  const r = parseDefaults(doc);
  return r.ok ? { ok: true, value: r.defaults } : { ok: false, error: `${file}: ${r.error}` };
}

/** The defaulted annotations a Service lacks, as full key → value. Never `persistence`. */
export function missingDefaults(service: Service, defaults: ClusterDefaults): [string, string][] {
  const have = service.metadata.annotations ?? {};
  // No mode for externalTrafficPolicy: Local: a written mode would read as the user's choice and
  // override the per-farm one that keeps the client's address (annotations/client-address.ts).
  const local = externalPolicyLocal(service);
  const missing: [string, string][] = [];
  for (const [k, full] of DEFAULTED_FULL_KEYS)
    if (!(full in have) && !(k === "mode" && local)) missing.push([full, defaultFor(service, k, defaults)]);
  return missing;
}

/** A cluster-wide helper default that this Service's protocols cannot use is written as "none". */
function defaultFor(service: Service, key: DefaultedKey, defaults: ClusterDefaults): string {
  const helper = defaults.helper;
  if (key !== "helper" || helper === "none") return defaults[key];
  const ok = (service.spec.ports ?? []).every((p) => HELPER_PROTOCOLS[helper].includes(p.protocol ?? "TCP"));
  return ok ? helper : "none";
}
