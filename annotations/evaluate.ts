// The one function every component calls: a Service in, the effective nftlb farm settings out,
// with every error and warning of the annotation contract (SPEC §2).
import {
  BUILTIN_DEFAULTS,
  DEFAULT_PERSIST_TTL,
  HELPER_PROTOCOLS,
  KEY_SUFFIXES,
  KEYS,
  DSR_SCHEDULERS,
  MAX_AFFINITY_TIMEOUT,
  PREFIX,
  fullKey,
  type ClusterDefaults,
  type Helper,
  type KeySuffix,
  type Log,
  type Mode,
  type Persistence,
  type Scheduler,
} from "./contract.ts";
import { balanced, DEFAULT_SCOPE, type Balanced, type ProxyScope } from "./balanced.ts";
import { nearest } from "./suggest.ts";
import { badValue } from "./bad-value.ts";
import { sourceRangeWarnings } from "./source-ranges.ts";
import { clientAddressWarnings } from "./client-address.ts";
import type { Service } from "./service.ts";

export interface Finding {
  /** The full annotation key, or the field path (e.g. `spec.sessionAffinityConfig...`). */
  key: string;
  message: string;
}

/** The user-level choices after defaults and fallbacks. */
export interface Choices {
  mode: Mode;
  scheduler: Scheduler;
  persistence: Persistence;
  helper: Helper;
  log: Log;
  /** Seconds, base 10. */
  persistTtl: number;
}

/** nftlb farm fields, every value a string as nftlb requires. */
export interface FarmSettings {
  mode: Mode;
  scheduler: "rr" | "symhash" | "hash";
  "sched-param": string;
  persistence: string;
  "persist-ttl": string;
  helper: Helper;
  log: string;
  "log-prefix"?: string;
}

export interface Evaluation {
  choices: Choices;
  /** Whether the Service carries a valid mode annotation (else the mode is a default, chosen per farm). */
  modeSet: boolean;
  settings: FarmSettings;
  errors: Finding[];
  warnings: Finding[];
  balanced: Balanced;
}

export interface EvaluateOptions {
  defaults?: ClusterDefaults;
  scope?: ProxyScope;
}

const TTL_PATH = "spec.sessionAffinityConfig.clientIP.timeoutSeconds";

export function evaluateService(service: Service, opts: EvaluateOptions = {}): Evaluation {
  const defaults = opts.defaults ?? BUILTIN_DEFAULTS;
  const errors: Finding[] = [];
  const warnings: Finding[] = [];
  const given = readAnnotations(service, errors);

  const pick = <K extends KeySuffix>(suffix: K): (typeof KEYS)[K]["values"][number] | undefined => {
    const raw = given.get(suffix);
    if (raw === undefined) return undefined;
    const values: readonly string[] = KEYS[suffix].values;
    if (values.includes(raw)) return raw as (typeof KEYS)[K]["values"][number];
    errors.push({ key: fullKey(suffix), message: badValue(suffix, raw) });
    return undefined;
  };

  const scheduler = pick("scheduler") ?? defaults.scheduler;
  const givenMode = pick("mode");
  const mode = checkDsr(service, givenMode ?? defaults.mode, scheduler, errors, warnings);
  warnings.push(...clientAddressWarnings(service, mode, givenMode !== undefined));
  const log = pick("log") ?? defaults.log;
  const helper =
    checkHelper(service, pick("helper"), errors) ?? checkHelper(service, defaults.helper, []) ?? "none";

  const affinity = service.spec.sessionAffinity === "ClientIP";
  const annotated = pick("persistence");
  if (annotated !== undefined && affinity && annotated !== "srcip") {
    warnings.push({
      key: fullKey("persistence"),
      message: `the annotation "${annotated}" takes priority over spec.sessionAffinity: ClientIP (which alone would mean "srcip")`,
    });
  }
  const persistence: Persistence = annotated ?? (affinity ? "srcip" : "none");
  const persistTtl = readTtl(service, errors);

  const isBalanced = balanced(service, opts.scope ?? DEFAULT_SCOPE);
  if (!isBalanced.balanced && given.size > 0) {
    warnings.push({
      key: `${PREFIX}*`,
      message: `kube-nftlb does not balance this Service (${isBalanced.reason}): its kube-nftlb annotations have no effect`,
    });
  }

  if (isBalanced.balanced) warnings.push(...sourceRangeWarnings(service));

  const choices: Choices = { mode, scheduler, persistence, helper, log, persistTtl };
  return {
    choices,
    modeSet: givenMode !== undefined,
    settings: toFarmSettings(service, choices),
    errors,
    warnings,
    balanced: isBalanced,
  };
}

const KNOWN_SUFFIXES: ReadonlySet<string> = new Set(KEY_SUFFIXES);
const VALID_KEYS = KEY_SUFFIXES.map(fullKey).join(", ");

/** Our annotations as suffix → string value; unknown keys and non-strings become errors. */
function readAnnotations(service: Service, errors: Finding[]): Map<KeySuffix, string> {
  const found = new Map<KeySuffix, string>();
  const annotations = service.metadata.annotations ?? {};
  for (const key in annotations) {
    if (!key.startsWith(PREFIX)) continue;
    const value = annotations[key];
    const suffix = key.slice(PREFIX.length);
    if (!KNOWN_SUFFIXES.has(suffix)) {
      const guess = nearest(suffix, KEY_SUFFIXES);
      errors.push({
        key,
        message:
          `unknown kube-nftlb annotation${guess ? `; did you mean "${fullKey(guess)}"?` : "."}` +
          ` Valid keys: ${VALID_KEYS}`,
      });
      continue;
    }
    if (typeof value !== "string") {
      errors.push({ key, message: `must be a string, got ${JSON.stringify(value)}` });
      continue;
    }
    found.set(suffix as KeySuffix, value);
  }
  return found;
}

/**
 * dsr forwards frames at the ingress hook without conntrack and without rewriting ports
 * (measured: test/modes-traffic.test.ts). What cannot work falls back to snat, which always does.
 */
function checkDsr(
  service: Service,
  mode: Mode,
  scheduler: Scheduler,
  errors: Finding[],
  warnings: Finding[],
): Mode {
  if (mode !== "dsr") return mode;
  const key = fullKey("mode");
  const before = errors.length;
  if (!(DSR_SCHEDULERS as readonly string[]).includes(scheduler)) {
    errors.push({
      key,
      message:
        `mode "dsr" needs a scheduler that keeps a connection on one backend (${DSR_SCHEDULERS.join(", ")}): ` +
        `dsr runs without connection tracking, so "${scheduler}" would send the packets of one connection to different backends`,
    });
  }
  const type = service.spec.type ?? "ClusterIP";
  if (type === "NodePort" || type === "LoadBalancer") {
    errors.push({
      key,
      message: `mode "dsr" cannot serve a ${type} Service: frames keep their destination port, so traffic to the nodePort would reach backends that listen on another port`,
    });
  }
  const moved = (service.spec.ports ?? []).filter(
    (p) => typeof p.targetPort === "number" && p.targetPort !== p.port,
  );
  if (moved.length > 0) {
    errors.push({
      key,
      message: `mode "dsr" forwards frames without rewriting ports: targetPort must equal port (${moved.map((p) => `${p.port} → ${String(p.targetPort)}`).join(", ")})`,
    });
  }
  if (errors.length > before) return "snat";
  warnings.push({
    key,
    message:
      'mode "dsr": every backend must hold the Service\'s virtual addresses on its loopback (and not answer ARP for them), and listen on the Service port',
  });
  return mode;
}

/** The helper if every port's protocol supports it; otherwise an error and no helper. */
function checkHelper(service: Service, helper: Helper | undefined, errors: Finding[]): Helper | undefined {
  if (helper === undefined || helper === "none") return helper;
  const allowed = HELPER_PROTOCOLS[helper];
  const wrong = (service.spec.ports ?? []).filter((p) => !allowed.includes(p.protocol ?? "TCP"));
  if (wrong.length === 0) return helper;
  const ports = wrong.map((p) => `${p.name ?? p.port}/${p.protocol ?? "TCP"}`).join(", ");
  errors.push({
    key: fullKey("helper"),
    message: `helper "${helper}" works on ${allowed.join(" and ")} only, but port ${ports} is not (nftlb refuses the pair)`,
  });
  return undefined;
}

function readTtl(service: Service, errors: Finding[]): number {
  const raw = service.spec.sessionAffinityConfig?.clientIP?.timeoutSeconds;
  if (raw === undefined || raw === null) return DEFAULT_PERSIST_TTL;
  if (typeof raw === "number" && Number.isInteger(raw) && raw >= 1 && raw <= MAX_AFFINITY_TIMEOUT) return raw;
  errors.push({
    key: TTL_PATH,
    message: `must be an integer from 1 to ${MAX_AFFINITY_TIMEOUT} seconds, got ${JSON.stringify(raw)}`,
  });
  return DEFAULT_PERSIST_TTL;
}

const SCHEDULER_FIELDS: Record<Scheduler, Pick<FarmSettings, "scheduler" | "sched-param">> = {
  rr: { scheduler: "rr", "sched-param": "none" },
  symhash: { scheduler: "symhash", "sched-param": "none" },
  "hash-srcip": { scheduler: "hash", "sched-param": "srcip" },
  "hash-srcip-srcport": { scheduler: "hash", "sched-param": "srcip srcport" },
};

/** nftlb spells the pairs with a space. */
const PERSISTENCE_FIELD: Record<Persistence, string> = {
  none: "none",
  srcip: "srcip",
  srcport: "srcport",
  srcmac: "srcmac",
  "srcip-srcport": "srcip srcport",
  "srcip-dstport": "srcip dstport",
};

/** nft caps a log prefix at 127 bytes; stay well inside it whatever the names. */
const LOG_PREFIX_MAX = 64;

function toFarmSettings(service: Service, c: Choices): FarmSettings {
  const settings: FarmSettings = {
    mode: c.mode,
    ...SCHEDULER_FIELDS[c.scheduler],
    persistence: PERSISTENCE_FIELD[c.persistence],
    "persist-ttl": String(c.persistTtl),
    helper: c.helper,
    log: c.log,
  };
  if (c.log !== "none") {
    const id = `${service.metadata.namespace ?? "default"}/${service.metadata.name ?? ""}`;
    settings["log-prefix"] = `k8s ${id}`.slice(0, LOG_PREFIX_MAX - 1) + " ";
  }
  return settings;
}
