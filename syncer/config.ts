// The syncer's flags → a checked configuration, or one clear error. Pure but for reading the
// key file; the key never appears in an error message.
import { readFileSync } from "node:fs";
import { isIP } from "node:net";
import { parseFlags, type Exit } from "../flags/flags.ts";
import { parseConfigFile } from "./config-file.ts";
import type { EndpointsApi } from "../kube/sources.ts";
import { parseDefaultsYaml, type ProxyMode } from "../annotations/index.ts";
import { logLevelError, parseDuration } from "../runtime/index.ts";
import { isIfaceName, isUsableMac } from "../nftlb/interfaces.ts";
import { keyProblem } from "../nftlb/key.ts";

export interface SyncerConfig {
  nftlbUrl: string;
  nftlbKey: string;
  nodeName: string;
  kubeconfig?: string;
  probePort: number;
  endpointsApi: EndpointsApi;
  proxyMode: ProxyMode;
  resyncMs: number;
  /** How often nftlb is probed for a restart. */
  nftlbProbeMs: number;
  /**
   * How long a request to nftlb may go unanswered (30 s, not a flag). A POST gets longer when
   * its estimated time × 4 is (syncer/capacity.ts writeDeadlineMs); the write budget is half.
   */
  nftlbTimeoutMs: number;
  /** The nftlb container's memory limit; changes that would take nftlb past it are refused. */
  nftlbMemoryBytes?: number | undefined;
  /** dsr: the interface client traffic arrives on, its MAC (read at start) and the one toward the backends. */
  iface?: string;
  ifaceMac?: string;
  oface?: string;
  /** UDP conntrack cleanup after each write (syncer/conntrack-tool.ts): the `conntrack` binary; off when absent. */
  conntrack?: string;
  /** The same through `kube-nftlb conntrack-agent` at this unix socket (deploy/: the agent holds NET_ADMIN). */
  conntrackAgent?: string;
  logLevel: string;
  /** kube-nftlb's own table `inet kube-nftlb` (syncer/node-rules.ts); undefined = on. */
  nodeRules?: boolean;
  /** The node-rules agent's socket (`--node-rules unix:PATH`); absent: run nft directly. */
  nodeRulesSocket?: string;
  /** How nft is run; ["nft"] unless a test runs it inside a network namespace. */
  nftCommand?: string[];
  /** The cluster defaults (the webhook's --defaults-file), re-read when it changes. */
  defaultsFile?: string;
  /** How often that file is polled behind the directory watch (tests); 2 s when absent. */
  defaultsPollMs?: number;
  /** `--cleanup`: remove kube-nftlb's farms and table from this node, then exit. */
  cleanup?: boolean;
  /** Take over the original kube-nftlb's farms holding our addresses (syncer/upstream-farms.ts). */
  adoptUpstreamFarms?: boolean;
  /** Where /metrics and /healthz /readyz listen (the port is probePort); 127.0.0.1 when absent. */
  metricsHost?: string;
  /** kube-proxy's /healthz /livez (and /readyz); not served when absent (tests, benchmarks). */
  healthzBindAddress?: { host: string; port: number };
  /** /healthz turns 503 once a queued change is this old and not programmed; 60 s when absent. */
  healthzTimeoutMs?: number;
}

export const HELP = `Usage: kube-nftlb syncer --nftlb-url URL --nftlb-key-file FILE --node-name NAME [flags]

Runs beside nftlb on a node and keeps nftlb's farms equal to the cluster's Services and
EndpointSlices: one farm per Service port, named <namespace>.<service>.<port>. Waits for nftlb
and for every cache to sync before writing; batches changes into one POST; deletes farms of
Services deleted while it was down (only farms named like its own); notices an nftlb restart and
re-programs everything. Problems reach the Service as Warning Events.

Health like kube-proxy's, on --healthz-bind-address: /healthz (503 once a change has waited
longer than --healthz-timeout to reach nftlb, or while the Node is being deleted), /livez, and
/readyz (caches synced, nftlb programmed once and answering; a 503 names what is not). /metrics, /healthz (process
alive) and /readyz on --metrics-bind-address. For each LoadBalancer Service with externalTrafficPolicy: Local, HTTP
on its healthCheckNodePort on the node's addresses: 200 with the local endpoint count, else 503.
EndpointSlice topology hints are followed as kube-proxy follows them. JSON logs on stdout, the
nftlb key redacted. On SIGTERM: stops watching, finishes the write in flight, leaves nftlb's
rules in place, exits 0.

Flags (each may also be set in --config FILE; a flag given here wins):
  --config FILE             YAML settings, keys the flags' names in camelCase, e.g.
                              apiVersion: kube-nftlb.io/v1alpha1   # optional
                              kind: SyncerConfiguration            # optional
                              proxyMode: replace
                              healthzBindAddress: 0.0.0.0:10256
                            keys: nftlbUrl nftlbKeyFile nodeName kubeconfig metricsBindAddress
                            healthzBindAddress healthzTimeout endpointsApi proxyMode resyncPeriod
                            nftlbProbePeriod nftlbMemoryLimit iface oface logLevel nodeRules conntrack
                            conntrackAgent adoptUpstreamFarms (true/false) defaultsFile. An unknown key or a bad value
                            stops the start, naming the key.
  --nftlb-url URL           nftlb's REST API, e.g. http://127.0.0.1:5555
  --nftlb-key-file FILE     file holding nftlb's key (a mounted Secret): one line of at least 16
                            printable ASCII characters (spaces around it ignored); a shorter one
                            stops the start
  --node-name NAME          this node's name (downward API spec.nodeName): its addresses serve
                            NodePorts, and Local traffic policies select its endpoints
  --kubeconfig FILE         kubeconfig; in-cluster service account when absent
  --metrics-bind-address IP:PORT  /metrics /healthz /readyz (default 127.0.0.1:10249, as
                            kube-proxy: loopback, since the pod runs on the host network)
  --healthz-bind-address IP:PORT  kube-proxy's /healthz /livez, and /readyz (default
                            0.0.0.0:10256; "" turns it off)
  --healthz-timeout DURATION  how long a queued change may wait for nftlb before /healthz says
                            503 (default 60s: kube-proxy's 2 × its 30 s sync period)
  --probe-port N            deprecated: the port of --metrics-bind-address (0 = any)
  --endpoints-api API       slices (default) or endpoints (v1 Endpoints, deprecated in 1.33)
  --proxy-mode MODE         replace (default): every Service not labelled for another proxy;
                            alongside: only Services labelled
                            service.kubernetes.io/service-proxy-name=kube-nftlb
  --resync-period DURATION  full relist, re-read of nftlb and reconcile period (drift is
                            repaired), e.g. 5m (default), 30s, 1h
  --nftlb-probe-period DUR  how often nftlb is checked for a hang or a restart (default 5s)
  --nftlb-memory-limit SIZE the nftlb container's memory limit (bytes, or 512Mi, 2Gi, 1G): a
                            change that would take nftlb's estimated memory (~256 KiB per farm
                            address) past 85% of it is refused with an Event. Unset: estimated
                            and exported, not enforced. deploy/ passes nftlb's own limit
  --iface NAME, --oface NAME  dsr farms: the interface client traffic arrives on and the one
                            toward the Pods (e.g. eth0, cni0); both or neither. The MAC of
                            --iface is read from /sys/class/net/NAME/address at start. Without
                            them, Services annotated for dsr are served in snat (with an Event)
  --node-rules HOW          kube-nftlb's own nftables table, table inet kube-nftlb: refuses
                            clients of Services without endpoints, drops Local traffic without
                            a local endpoint, enforces loadBalancerSourceRanges. unix:PATH: ask
                            the node-rules agent (\`kube-nftlb node-rules\`, which holds NET_ADMIN)
                            on that socket, as the DaemonSet does; nft (default): run nft here,
                            which needs NET_ADMIN; off: none of that
  --cleanup                 remove every farm kube-nftlb made in this nftlb (its farm names and
                            its sentinel; other farms stay) and table inet kube-nftlb, then exit
                            (0 when done; harmless to repeat). Needs --nftlb-url and
                            --nftlb-key-file only
  --conntrack PATH          after each write, delete stale UDP conntrack entries with this
                            conntrack binary (kube-proxy's cleanup: flows answered by no serving
                            backend, flows begun while a Service had none); needs CAP_NET_ADMIN
                            in the node's network namespace. Off when absent
  --conntrack-agent SOCKET  the same, asking \`kube-nftlb conntrack-agent\` on this unix socket
                            (the syncer itself then needs no capability)
  --adopt-upstream-farms    take over farms the original kube-nftlb left (named
                            <service>--<port>) on a VIP:port a Service needs, in place: once the
                            Service has a backend up, its farm is written into the old one,
                            which keeps its name and VIP (no gap; docs/operators.md, "Moving
                            from the original kube-nftlb"). Off: they are reported (Event
                            UpstreamFarmFound) and left as they are
  --defaults-file FILE      the cluster defaults, the webhook's --defaults-file (YAML: mode,
                            scheduler, helper, log): applied to annotations a Service lacks or
                            has wrong, so a Service admitted while the webhook was bypassed is
                            balanced as the cluster says. Re-read when it changes (every Service
                            reconciled again); a bad new file is refused and the previous
                            defaults kept. A missing file means the built-in defaults until it
                            appears
  --log-level LEVEL         trace, debug, info (default), warn, error
  -h, --help                show this help
  --version                 print kube-nftlb's version

Exit status: 0 after a clean shutdown, 1 if it could not start, 2 usage error.`;

/** How the syncer is run, as its usage errors spell it. */
export const SYNCER_COMMAND = "kube-nftlb syncer";

/** A config, a usage error (cli/syncer.ts prints it as one line), or --help/--version/a bad flag. */
export type Parsed =
  { ok: true; config: SyncerConfig } | { ok: false; error: string } | { ok: "exit"; exit: Exit };

/** A duration flag of the syncer: the one grammar (runtime/duration.ts), at most a day. */
export function parsePeriod(raw: string): number | undefined {
  const ms = parseDuration(raw.trim());
  return typeof ms === "number" && ms <= 86_400_000 ? ms : undefined;
}

const UNITS: Record<string, number> = {
  "": 1,
  k: 1e3,
  M: 1e6,
  G: 1e9,
  Ki: 2 ** 10,
  Mi: 2 ** 20,
  Gi: 2 ** 30,
};

/** A Kubernetes memory quantity (bytes, 1G, 512Mi, 2Gi) in bytes; at least 16Mi, at most 1Ti. */
export function parseSize(raw: string): number | undefined {
  const m = /^(\d+(?:\.\d+)?)(k|M|G|Ki|Mi|Gi)?$/.exec(raw.trim());
  if (!m) return undefined;
  const bytes = Math.round(Number(m[1]) * UNITS[m[2] ?? ""]!);
  return bytes >= 16 * 2 ** 20 && bytes <= 2 ** 40 ? bytes : undefined;
}

/** How the MAC of an interface of this node is read; tests pass their own. */
export const readSysMac = (iface: string): string => readFileSync(`/sys/class/net/${iface}/address`, "utf8");

export const validIface = isIfaceName;

/** A MAC as nftlb wants it (lower-case, colons), or undefined; the all-zero MAC is none (e.g. lo). */
export function normaliseMac(raw: string): string | undefined {
  const mac = raw.trim().toLowerCase();
  return isUsableMac(mac) ? mac : undefined;
}

/** The MAC of `iface` on this node, or an error saying why it cannot be used for dsr. */
export function ifaceMac(
  iface: string,
  read: (iface: string) => string = readSysMac,
): { ok: true; mac: string } | { ok: false; error: string } {
  if (!validIface(iface)) return { ok: false, error: `not an interface name: ${JSON.stringify(iface)}` };
  let raw: string;
  try {
    raw = read(iface);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? "error";
    return {
      ok: false,
      error: `cannot read the MAC of ${iface} (/sys/class/net/${iface}/address: ${code}): no such interface on this node?`,
    };
  }
  const mac = normaliseMac(raw);
  if (mac === undefined)
    return {
      ok: false,
      error: `${iface} has no Ethernet MAC (${JSON.stringify(raw.trim().slice(0, 40))}): dsr needs the interface client traffic arrives on`,
    };
  return { ok: true, mac };
}

/** Flag defaults, applied under the config file's values (and those under the flags'). */
const DEFAULTS = {
  "metrics-bind-address": "127.0.0.1:10249",
  "healthz-bind-address": "0.0.0.0:10256",
  "healthz-timeout": "60s",
  "endpoints-api": "slices",
  "proxy-mode": "replace",
  "resync-period": "5m",
  "nftlb-probe-period": "5s",
  "log-level": "info",
  "node-rules": "nft",
};

/** "IP:port" or "[IPv6]:port" → host and port, or undefined. */
export function parseBindAddress(raw: string): { host: string; port: number } | undefined {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([0-9.]+)):(\d{1,5})$/.exec(raw.trim());
  if (!m) return undefined;
  const host = m[1] ?? m[2]!;
  const port = Number(m[3]);
  if ((m[1] !== undefined ? isIP(host) !== 6 : isIP(host) !== 4) || port > 65535) return undefined;
  return { host, port };
}

/**
 * Flags, over `--config FILE`'s values, over the defaults. `readFile` reads the key file and the
 * config file; an error about a value that came from the file names its key there.
 */
export function parseSyncerArgs(
  argv: string[],
  readFile = (f: string) => readFileSync(f, "utf8"),
  readMac: (iface: string) => string = readSysMac,
): Parsed {
  const parsed = parseFlags(
    {
      command: SYNCER_COMMAND,
      help: HELP,
      options: {
        config: { type: "string" },
        "nftlb-url": { type: "string" },
        "nftlb-key-file": { type: "string" },
        "node-name": { type: "string" },
        kubeconfig: { type: "string" },
        "metrics-bind-address": { type: "string" },
        "healthz-bind-address": { type: "string" },
        "healthz-timeout": { type: "string" },
        "probe-port": { type: "string" },
        "endpoints-api": { type: "string" },
        "proxy-mode": { type: "string" },
        "resync-period": { type: "string" },
        "nftlb-probe-period": { type: "string" },
        "nftlb-memory-limit": { type: "string" },
        iface: { type: "string" },
        oface: { type: "string" },
        conntrack: { type: "string" },
        "conntrack-agent": { type: "string" },
        "log-level": { type: "string" },
        "node-rules": { type: "string" },
        "defaults-file": { type: "string" },
        cleanup: { type: "boolean" },
        "adopt-upstream-farms": { type: "boolean" },
      },
    },
    argv,
  );
  if (!parsed.ok) return { ok: "exit", exit: parsed.exit };
  const flags = parsed.values;
  const given = Object.fromEntries(Object.entries(flags).filter(([, v]) => typeof v === "string")) as Record<
    string,
    string
  >;
  let fromFile = new Map<string, string>();
  let keyOf = new Map<string, string>();
  if (flags.config !== undefined) {
    const f = parseConfigFile(flags.config, readFile);
    if (!f.ok) return f;
    ({ values: fromFile, keyOf } = f);
  }
  const values = {
    ...DEFAULTS,
    ...Object.fromEntries(fromFile),
    ...given,
    ...(flags.cleanup === true ? { cleanup: "true" } : {}),
    ...(flags["adopt-upstream-farms"] === true ? { "adopt-upstream-farms": "true" } : {}),
  } as typeof DEFAULTS & Partial<Record<string, string>>;
  const r = checkValues(values, readFile, readMac);
  if (r.ok === false) {
    // Say where a bad value came from: an operator reads the ConfigMap, not argv.
    const flag = /^--([a-z-]+)/.exec(r.error)?.[1];
    if (flag !== undefined && keyOf.has(flag) && given[flag] === undefined)
      return { ok: false, error: `--config ${flags.config}: ${keyOf.get(flag)}: ${r.error}` };
  }
  return r;
}

function checkValues(
  values: typeof DEFAULTS & Partial<Record<string, string>>,
  readKey: (f: string) => string,
  readMac: (iface: string) => string,
): Parsed {
  const url = values["nftlb-url"];
  if (!url) return { ok: false, error: "--nftlb-url is required" };
  let parsedUrl: URL;
  try {
    parsedUrl = new URL(url);
  } catch {
    return { ok: false, error: `--nftlb-url is not a URL: "${url}"` };
  }
  if (parsedUrl.protocol !== "http:")
    return { ok: false, error: `--nftlb-url must be http:// (nftlb speaks plain HTTP), got "${url}"` };
  const keyFile = values["nftlb-key-file"];
  if (!keyFile) return { ok: false, error: "--nftlb-key-file is required" };
  let key: string;
  try {
    key = readKey(keyFile).trim();
  } catch (err) {
    return {
      ok: false,
      error: `cannot read --nftlb-key-file ${keyFile}: ${(err as NodeJS.ErrnoException).code ?? "error"}`,
    };
  }
  const problem = keyProblem(key);
  if (problem !== undefined) return { ok: false, error: `--nftlb-key-file ${keyFile} ${problem}` };
  const nodeName = values["node-name"] ?? "";
  if (!nodeName && !values.cleanup)
    return { ok: false, error: "--node-name is required (the downward API's spec.nodeName)" };
  const nodeRules = values["node-rules"];
  const socket = nodeRules.startsWith("unix:") ? nodeRules.slice(5) : undefined;
  if (nodeRules !== "nft" && nodeRules !== "off" && !socket?.startsWith("/"))
    return { ok: false, error: `--node-rules must be nft, off or unix:/absolute/path, got "${nodeRules}"` };
  const metricsAt = parseBindAddress(values["metrics-bind-address"]);
  if (metricsAt === undefined)
    return {
      ok: false,
      error: `--metrics-bind-address must be IP:port, e.g. 127.0.0.1:10249 or [::1]:10249, got "${values["metrics-bind-address"]}"`,
    };
  const probe = values["probe-port"] ?? String(metricsAt.port);
  if (!/^\d+$/.test(probe) || Number(probe) > 65535)
    return { ok: false, error: `--probe-port must be a port number from 0 to 65535, got "${probe}"` };
  const healthzRaw = values["healthz-bind-address"];
  const healthzAt = healthzRaw === "" ? undefined : parseBindAddress(healthzRaw);
  if (healthzRaw !== "" && healthzAt === undefined)
    return {
      ok: false,
      error: `--healthz-bind-address must be IP:port, e.g. 0.0.0.0:10256 or [::]:10256 ("" turns it off), got "${healthzRaw}"`,
    };
  const healthzTimeoutMs = parsePeriod(values["healthz-timeout"]);
  if (healthzTimeoutMs === undefined)
    return {
      ok: false,
      error: `--healthz-timeout must be a duration like 60s or 2m, got "${values["healthz-timeout"]}"`,
    };
  const api = values["endpoints-api"];
  if (api !== "slices" && api !== "endpoints")
    return { ok: false, error: `--endpoints-api must be slices or endpoints, got "${api}"` };
  const mode = values["proxy-mode"];
  if (mode !== "replace" && mode !== "alongside")
    return { ok: false, error: `--proxy-mode must be replace or alongside, got "${mode}"` };
  const resyncMs = parsePeriod(values["resync-period"]);
  if (resyncMs === undefined)
    return {
      ok: false,
      error: `--resync-period must be a duration like 5m, 30s or 1h, got "${values["resync-period"]}"`,
    };
  const probeMs = parsePeriod(values["nftlb-probe-period"]);
  if (probeMs === undefined)
    return {
      ok: false,
      error: `--nftlb-probe-period must be a duration like 5s, got "${values["nftlb-probe-period"]}"`,
    };
  const badLevel = logLevelError(values["log-level"]);
  if (badLevel !== undefined) return { ok: false, error: badLevel };
  const config: SyncerConfig = {
    nftlbUrl: url,
    nftlbKey: key,
    nodeName,
    probePort: Number(probe),
    metricsHost: metricsAt.host,
    ...(healthzAt ? { healthzBindAddress: healthzAt } : {}),
    healthzTimeoutMs,
    endpointsApi: api,
    proxyMode: mode,
    resyncMs,
    nftlbProbeMs: probeMs,
    nftlbTimeoutMs: 30_000,
    logLevel: values["log-level"],
    nodeRules: nodeRules !== "off",
  };
  if (socket) config.nodeRulesSocket = socket;
  if (values.cleanup) config.cleanup = true;
  if (values["adopt-upstream-farms"] === "true") config.adoptUpstreamFarms = true;
  if (values.kubeconfig) config.kubeconfig = values.kubeconfig;
  const defaultsFile = values["defaults-file"];
  if (defaultsFile !== undefined) {
    // A missing file is allowed (the ConfigMap may come later; built-in defaults until then); a
    // present one must be valid, as for the webhook.
    let text: string | undefined;
    try {
      text = readKey(defaultsFile);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== "ENOENT")
        return { ok: false, error: `cannot read --defaults-file ${defaultsFile}: ${code ?? "error"}` };
    }
    const parsed = text === undefined ? undefined : parseDefaultsYaml(text, defaultsFile);
    if (parsed?.ok === false) return { ok: false, error: `--defaults-file ${parsed.error}` };
    config.defaultsFile = defaultsFile;
  }
  if (values.conntrack !== undefined) {
    if (!values.conntrack.startsWith("/"))
      return { ok: false, error: `--conntrack must be an absolute path, got "${values.conntrack}"` };
    config.conntrack = values.conntrack;
  }
  const agent = values["conntrack-agent"];
  if (agent !== undefined) {
    if (!agent.startsWith("/"))
      return { ok: false, error: `--conntrack-agent must be an absolute socket path, got "${agent}"` };
    if (config.conntrack !== undefined)
      return { ok: false, error: "--conntrack and --conntrack-agent exclude each other: one cleans up" };
    config.conntrackAgent = agent;
  }
  const memory = values["nftlb-memory-limit"];
  if (memory !== undefined) {
    const bytes = parseSize(memory);
    if (bytes === undefined)
      return {
        ok: false,
        error: `--nftlb-memory-limit must be a size like 512Mi, 2Gi or a number of bytes (at least 16Mi), got "${memory}"`,
      };
    config.nftlbMemoryBytes = bytes;
  }
  if (values.iface !== undefined || values.oface !== undefined) {
    const { iface, oface } = values;
    if (!iface || !oface)
      return { ok: false, error: "--iface and --oface go together: dsr farms need both interfaces" };
    if (!validIface(oface))
      return { ok: false, error: `--oface: not an interface name: ${JSON.stringify(oface)}` };
    const mac = ifaceMac(iface, readMac);
    if (!mac.ok) return { ok: false, error: `--iface: ${mac.error}` };
    Object.assign(config, { iface, ifaceMac: mac.mac, oface });
  }
  return { ok: true, config };
}
