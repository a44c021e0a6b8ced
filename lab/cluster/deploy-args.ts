// The product runs in the lab with the arguments deploy/ gives it, read from the manifests
// themselves (so the lab breaks when deploy/ and the code disagree), with only what is specific
// to one machine rewritten: file paths, the node name, and nftlb's address.
import { readFileSync } from "node:fs";
import path from "node:path";
import { parseAllDocuments } from "yaml";

export const REPO = path.resolve(path.dirname(new URL(import.meta.url).pathname), "..", "..");
export const BIN = path.join(REPO, "bin", "kube-nftlb.js");

interface Container {
  name?: string;
  args?: string[];
  env?: {
    name: string;
    value?: string;
    valueFrom?: { resourceFieldRef?: { containerName?: string; resource?: string } };
  }[];
  resources?: { limits?: Record<string, string> };
}

const containersOf = (file: string, name: string): { c: Container; pod: Container[] } => {
  for (const doc of parseAllDocuments(readFileSync(path.join(REPO, file), "utf8"))) {
    const o = doc.toJS() as { spec?: { template?: { spec?: { containers?: Container[] } } } } | null;
    const pod = o?.spec?.template?.spec?.containers ?? [];
    const c = pod.find((x) => x.name === name);
    if (c) return { c, pod };
  }
  throw new Error(`${file}: no container "${name}"`);
};
const containerOf = (file: string, name: string): Container => containersOf(file, name).c;

const UNITS: Record<string, number> = {
  "": 1,
  k: 1e3,
  M: 1e6,
  G: 1e9,
  Ki: 2 ** 10,
  Mi: 2 ** 20,
  Gi: 2 ** 30,
};

/** What kubelet puts in an env var from `resourceFieldRef` limits.memory: the bytes. */
const resourceField = (pod: Container[], ref: { containerName?: string; resource?: string }) => {
  const q = pod.find((x) => x.name === ref.containerName)?.resources?.limits?.memory;
  const m = ref.resource === "limits.memory" ? /^(\d+)(k|M|G|Ki|Mi|Gi)?$/.exec(q ?? "") : null;
  return m ? String(Number(m[1]) * UNITS[m[2] ?? ""]!) : undefined;
};

/** Replaces `--flag=value` (or appends it) in an argv. */
const setFlag = (args: string[], flag: string, value: string): string[] => {
  const i = args.findIndex((a) => a === flag || a.startsWith(`${flag}=`));
  const out = [...args];
  if (i < 0) out.push(`${flag}=${value}`);
  else out[i] = `${flag}=${value}`;
  return out;
};

/** `$(VAR)` expanded from the container's literal env values, as kubelet does. */
const expand = (args: string[], env: Record<string, string>): string[] =>
  args.map((a) => a.replace(/\$\((\w+)\)/g, (m, v: string) => env[v] ?? m));

/** The ConfigMap kube-nftlb-defaults' file, which the syncer and the webhook both read. */
const DEFAULTS_FILE = path.join(REPO, "deploy/node/defaults.yaml");

/** The syncer's /metrics /readyz port in the lab (kube-proxy's metrics port). */
export const SYNCER_METRICS_PORT = 10249;

export function syncerArgs(o: {
  nodeName: string;
  nftlbUrl: string;
  keyFile: string;
  kubeconfig: string;
  /** The node-rules agent's socket (rulesArgs). */
  nodeRulesSocket: string;
  /** the conntrack agent's socket in the lab's directory (the DaemonSet's is in a pod volume) */
  conntrackSocket: string;
  /** the nftlb container's limits.memory instead of the manifest's, as an operator raises it */
  nftlbMemoryLimit?: string;
}): string[] {
  const found = containersOf("deploy/node/daemonset.yaml", "syncer");
  const { c } = found;
  const pod =
    o.nftlbMemoryLimit === undefined
      ? found.pod
      : found.pod.map((x) =>
          x.name === "nftlb"
            ? {
                ...x,
                resources: {
                  ...x.resources,
                  limits: { ...x.resources?.limits, memory: o.nftlbMemoryLimit! },
                },
              }
            : x,
        );
  const env: Record<string, string> = { NODE_NAME: o.nodeName };
  for (const e of c.env ?? []) {
    const ref = e.valueFrom?.resourceFieldRef;
    const v = e.value ?? (ref ? resourceField(pod, ref) : undefined);
    if (v !== undefined) env[e.name] = v;
  }
  let args = expand(c.args ?? [], env);
  // deploy/ runs nftlb on 127.0.0.1 in the host network; the lab's nftlb listens on the node
  // namespace's API link so the host can reach it too.
  args = setFlag(args, "--nftlb-url", o.nftlbUrl);
  args = setFlag(args, "--nftlb-key-file", o.keyFile);
  args = setFlag(args, "--node-rules", `unix:${o.nodeRulesSocket}`);
  // The cluster defaults: deploy/'s ConfigMap file itself (syncer.yaml names its mount path).
  args = setFlag(args, "--defaults-file", DEFAULTS_FILE);
  // The settings file is the one deploy/ puts in the ConfigMap.
  args = args.map((a) =>
    a.replace("/etc/kube-nftlb/syncer/syncer.yaml", path.join(REPO, "deploy/node/syncer.yaml")),
  );
  // deploy/ keeps /metrics on the node's loopback; the lab's node is a namespace of its own, and
  // the host reads /metrics through the node's API-link address.
  args = setFlag(args, "--metrics-bind-address", `0.0.0.0:${SYNCER_METRICS_PORT}`);
  if (args.some((a) => a.startsWith("--conntrack-agent")))
    args = setFlag(args, "--conntrack-agent", o.conntrackSocket);
  // In a cluster the service account is mounted; the lab hands over a kubeconfig instead.
  return setFlag(args, "--kubeconfig", o.kubeconfig);
}

/** The rules container's arguments (the node-rules agent), its socket moved into the lab. */
export function rulesArgs(o: { socket: string }): string[] {
  return setFlag(containerOf("deploy/node/daemonset.yaml", "rules").args ?? [], "--socket", o.socket);
}

/** The DaemonSet's conntrack container (undefined without one), its socket moved to the lab's. */
export function conntrackAgentArgs(socket: string): string[] | undefined {
  let c: Container;
  try {
    c = containerOf("deploy/node/daemonset.yaml", "conntrack");
  } catch {
    return undefined;
  }
  return setFlag(c.args ?? [], "--socket", socket);
}

export function webhookArgs(o: { tlsDir: string }): string[] {
  const c = containerOf("deploy/admission/deployment.yaml", "webhook");
  const env: Record<string, string> = {};
  for (const e of c.env ?? []) if (e.value !== undefined) env[e.name] = e.value;
  return expand(c.args ?? [], env).map((a) =>
    a
      .replace("/etc/kube-nftlb/tls/", `${o.tlsDir}/`)
      .replace("/etc/kube-nftlb/defaults/defaults.yaml", DEFAULTS_FILE),
  );
}

/** The port a flag of the args names, e.g. --port=9443. */
export const portOf = (args: string[], flag: string, fallback: number): number => {
  const a = args.find((x) => x.startsWith(`${flag}=`));
  return a ? Number(a.slice(flag.length + 1)) : fallback;
};
