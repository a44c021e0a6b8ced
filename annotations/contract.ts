// The annotation contract of SPEC §2: every key, its accepted values and its default.
// The webhook, the syncer and `kube-nftlb lint` all read this one table.

export const PREFIX = "service.kubernetes.io/kube-nftlb-load-balancer-";

export const MODES = ["snat", "dnat", "dsr"] as const;

/**
 * Values nftlb knows but that cannot work for Kubernetes pod backends, with the reason given to
 * users (measured on nftlb 1.0.7 with real traffic: test/modes-traffic.test.ts).
 */
export const REFUSED_MODES: Record<string, string> = {
  stlsdnat:
    'mode "stlsdnat" cannot work for pod backends on nftlb 1.0.7: with clients and backends behind ' +
    "different interfaces (always the case for pods behind a node) nftlb writes the return-path " +
    "entries into a map it never created, nft refuses the farm while the API reports it up, and " +
    "nftlb rebuilds its whole table (a short outage for every farm)",
};

/** dsr runs without connection tracking: the scheduler must pick one backend per flow. */
export const DSR_SCHEDULERS = ["symhash", "hash-srcip", "hash-srcip-srcport"] as const;
export const SCHEDULERS = ["rr", "symhash", "hash-srcip", "hash-srcip-srcport"] as const;
export const PERSISTENCES = ["none", "srcip", "srcport", "srcmac", "srcip-srcport", "srcip-dstport"] as const;
export const HELPERS = ["none", "ftp", "pptp", "sip", "snmp", "tftp"] as const;
export const LOGS = ["none", "output", "forward"] as const;

/** Helpers the original README lists but nftlb has never implemented (it silently runs without). */
export const UNIMPLEMENTED_HELPERS = ["amanda", "h323", "irc", "netbios-ns", "sane"] as const;

export type Mode = (typeof MODES)[number];
export type Scheduler = (typeof SCHEDULERS)[number];
export type Persistence = (typeof PERSISTENCES)[number];
export type Helper = (typeof HELPERS)[number];
export type Log = (typeof LOGS)[number];

export type Protocol = "TCP" | "UDP" | "SCTP";

/** The protocols each helper works on in nftlb 1.0.7; any other pair is an HTTP 400 there. */
export const HELPER_PROTOCOLS: Record<Exclude<Helper, "none">, readonly Protocol[]> = {
  ftp: ["TCP"],
  pptp: ["TCP"],
  sip: ["TCP", "UDP"],
  snmp: ["UDP"],
  tftp: ["UDP"],
};

export const KEYS = {
  mode: { values: MODES, default: "snat" },
  scheduler: { values: SCHEDULERS, default: "rr" },
  // No default written: persistence derives from spec.sessionAffinity (SPEC §2).
  persistence: { values: PERSISTENCES, default: undefined },
  helper: { values: HELPERS, default: "none" },
  log: { values: LOGS, default: "none" },
} as const;

export type KeySuffix = keyof typeof KEYS;
export const KEY_SUFFIXES = Object.keys(KEYS) as KeySuffix[];

/** The keys the mutating webhook fills in when absent. */
export const DEFAULTED_KEYS = ["mode", "scheduler", "helper", "log"] as const satisfies readonly KeySuffix[];
export type DefaultedKey = (typeof DEFAULTED_KEYS)[number];

export interface ClusterDefaults {
  mode: Mode;
  scheduler: Scheduler;
  helper: Helper;
  log: Log;
}

export const BUILTIN_DEFAULTS: ClusterDefaults = {
  mode: KEYS.mode.default,
  scheduler: KEYS.scheduler.default,
  helper: KEYS.helper.default,
  log: KEYS.log.default,
};

export const fullKey = (suffix: string): string => `${PREFIX}${suffix}`;

/** The defaulted keys with their full names, built once: both are looked up on every review. */
export const DEFAULTED_FULL_KEYS = DEFAULTED_KEYS.map((k) => [k, fullKey(k)] as const);

/** TTL used when persistence is on and the Service sets no sessionAffinityConfig. */
export const DEFAULT_PERSIST_TTL = 60;
/** Kubernetes' own bounds for sessionAffinityConfig.clientIP.timeoutSeconds. */
export const MAX_AFFINITY_TIMEOUT = 86400;

/** Label with which a Service names the proxy that should handle it (KEP-2447). */
export const SERVICE_PROXY_NAME_LABEL = "service.kubernetes.io/service-proxy-name";
export const PROXY_NAME = "kube-nftlb";
