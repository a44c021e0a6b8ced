// `--config FILE`: the syncer's settings as one YAML document (a ConfigMap the DaemonSet
// mounts), the keys being the flags' names in camelCase. Flags given on the command line win.
// The schema is strict: an unknown key or a value of the wrong type fails the start with the
// key named; values are then checked by the same rules as the flags (config.ts).
import { parse } from "yaml";
import { z } from "zod";

export const CONFIG_KIND = "SyncerConfiguration";
export const CONFIG_API_VERSION = "kube-nftlb.io/v1alpha1";

/** File key → the flag it stands for. nftlbKeyFile, not the key: a key never sits in a ConfigMap. */
export const FILE_KEYS = {
  nftlbUrl: "nftlb-url",
  nftlbKeyFile: "nftlb-key-file",
  nodeName: "node-name",
  kubeconfig: "kubeconfig",
  metricsBindAddress: "metrics-bind-address",
  healthzBindAddress: "healthz-bind-address",
  healthzTimeout: "healthz-timeout",
  endpointsApi: "endpoints-api",
  proxyMode: "proxy-mode",
  resyncPeriod: "resync-period",
  nftlbProbePeriod: "nftlb-probe-period",
  nftlbMemoryLimit: "nftlb-memory-limit",
  iface: "iface",
  oface: "oface",
  logLevel: "log-level",
  nodeRules: "node-rules",
  conntrack: "conntrack",
  conntrackAgent: "conntrack-agent",
  defaultsFile: "defaults-file",
  adoptUpstreamFarms: "adopt-upstream-farms",
} as const;

export type FileKey = keyof typeof FILE_KEYS;

const text = z.string({ error: "must be a string" });
/** A switch (a flag without value): YAML true/false, or the same as a string. */
const bool = z
  .union([z.boolean(), z.enum(["true", "false"])], { error: "must be true or false" })
  .transform(String);
const schema = z.strictObject({
  apiVersion: z.literal(CONFIG_API_VERSION, { error: `must be ${CONFIG_API_VERSION}` }).optional(),
  kind: z.literal(CONFIG_KIND, { error: `must be ${CONFIG_KIND}` }).optional(),
  ...(Object.fromEntries(Object.keys(FILE_KEYS).map((k) => [k, text.optional()])) as Record<
    FileKey,
    z.ZodOptional<typeof text>
  >),
  adoptUpstreamFarms: bool.optional(),
});

export type FileValues = { [K in FileKey]?: string };

/** The file's values by flag name, or an error naming the file and the key. */
export function parseConfigFile(
  file: string,
  read: (f: string) => string,
): { ok: true; values: Map<string, string>; keyOf: Map<string, string> } | { ok: false; error: string } {
  let raw: string;
  try {
    raw = read(file);
  } catch (err) {
    return {
      ok: false,
      error: `cannot read --config ${file}: ${(err as NodeJS.ErrnoException).code ?? "error"}`,
    };
  }
  let doc: unknown;
  try {
    doc = parse(raw, { maxAliasCount: 10 });
  } catch (err) {
    return {
      ok: false,
      error: `--config ${file} is not valid YAML: ${(err as Error).message.split("\n")[0]}`,
    };
  }
  if (doc === null || doc === undefined) doc = {};
  const r = schema.safeParse(doc);
  if (!r.success) {
    const issue = r.error.issues[0]!;
    if (issue.code === "unrecognized_keys") {
      const known = Object.keys(FILE_KEYS).join(", ");
      return {
        ok: false,
        error: `--config ${file}: unknown key "${issue.keys[0]}" (known: apiVersion, kind, ${known})`,
      };
    }
    const key = issue.path.join(".");
    return {
      ok: false,
      error:
        key === ""
          ? `--config ${file}: must be a mapping of settings`
          : `--config ${file}: ${key} ${issue.message}`,
    };
  }
  const values = new Map<string, string>();
  const keyOf = new Map<string, string>();
  for (const [key, flag] of Object.entries(FILE_KEYS)) {
    const v = r.data[key as FileKey];
    if (v === undefined) continue;
    values.set(flag, v);
    keyOf.set(flag, key);
  }
  return { ok: true, values, keyOf };
}
