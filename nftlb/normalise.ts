// Farms in one comparable form, whether nftlb's GET answered them or the syncer wants them: the
// one place that knows nftlb's defaults (parse.ts fills absent fields from the same tables), so
// what is read back and what is desired agree by construction. GET differs from what was POSTed in ways that must not read as changes:
// - it lists every field, defaults included, and fields we never send (mark, priority, verdict…);
// - it pads some values with a space ("srcip ", "output ") and prints field lists in its own order;
// - `virtual-addr`, `virtual-ports`, `family` and `protocol` describe only the farm's FIRST
//   address (the `addresses` array is the truth);
// - iface/oface are never shown, and `log-prefix` only when not the default.
// Anything malformed in an answer is skipped, never thrown.
import type { Address, Backend, Farm } from "./types.ts";
import { formatMark, parseMark } from "./marks.ts";
import { parseIp } from "./ip.ts";

/** Farm fields plan keeps equal, with nftlb 1.0.7's defaults (what GET shows when never set). */
export const FARM_DEFAULTS = {
  mode: "snat",
  scheduler: "rr",
  "sched-param": "none",
  persistence: "none",
  "persist-ttl": "60",
  helper: "none",
  log: "none",
  "log-prefix": "TYPE-FNAME ",
  // kube-nftlb's ownership mark lives here (syncer/ownership.ts); GET omits the default.
  "tcp-strict-log-prefix": "KNAME-FNAME ",
  // GET omits it when off.
  "intra-connect": "off",
} as const;
export type FarmField = keyof typeof FARM_DEFAULTS;
export const FARM_FIELDS = Object.keys(FARM_DEFAULTS) as FarmField[];

export const BACKEND_DEFAULTS = {
  "ip-addr": "",
  port: "",
  weight: "1",
  priority: "1",
  mark: "",
  // What GET shows for a backend POSTed without a state (measured: test/syncer-plan-nftlb.test.ts).
  state: "up",
} as const;
export type BackendField = keyof typeof BACKEND_DEFAULTS;
export const BACKEND_FIELDS = Object.keys(BACKEND_DEFAULTS) as BackendField[];

/** What GET shows for an address, or a farm, that never set these. */
export const ADDRESS_DEFAULTS = { family: "ipv4", "ip-addr": "", ports: "", protocol: "tcp" } as const;
export type AddressField = keyof typeof ADDRESS_DEFAULTS;
export const ADDRESS_FIELDS = Object.keys(ADDRESS_DEFAULTS) as AddressField[];

export interface NormalFarm {
  name: string;
  /** From the first address, else the farm-level key; undefined when nftlb does not say. */
  protocol?: string;
  family?: string;
  fields: Record<FarmField, string>;
  /** The farm mark as a number; 0 when nftlb has none. */
  mark: number;
  addresses: Map<string, Record<AddressField, string>>;
  backends: Map<string, Record<BackendField, string>>;
}

export function normaliseFarm(farm: Farm | Record<string, unknown>): NormalFarm | undefined {
  if (!isRecord(farm)) return undefined;
  const f: Record<string, unknown> = farm;
  const name = text(f.name);
  if (name === undefined || name === "") return undefined;
  const fields = {} as Record<FarmField, string>;
  for (const k of FARM_FIELDS) fields[k] = comparable(k, text(f[k]) ?? FARM_DEFAULTS[k]);
  const addresses = new Map<string, Record<AddressField, string>>();
  for (const a of list(f.addresses)) {
    if (!isRecord(a) || text(a.name) === undefined) continue;
    const ip = text(a["ip-addr"]) ?? "";
    addresses.set(text(a.name)!, {
      family: text(a.family) ?? ADDRESS_DEFAULTS.family,
      "ip-addr": parseIp(ip)?.address ?? ip,
      ports: text(a.ports) ?? ADDRESS_DEFAULTS.ports,
      protocol: text(a.protocol) ?? ADDRESS_DEFAULTS.protocol,
    });
  }
  // A farm listed without `addresses` but with the shortcut keys: its default address.
  const vip = text(f["virtual-addr"]);
  if (f.addresses === undefined && vip !== undefined && vip !== "") {
    addresses.set(`${name}-addr`, {
      family: text(f.family) ?? ADDRESS_DEFAULTS.family,
      "ip-addr": parseIp(vip)?.address ?? vip,
      ports: text(f["virtual-ports"]) ?? ADDRESS_DEFAULTS.ports,
      protocol: text(f.protocol) ?? ADDRESS_DEFAULTS.protocol,
    });
  }
  const backends = new Map<string, Record<BackendField, string>>();
  for (const b of list(f.backends)) {
    if (!isRecord(b) || text(b.name) === undefined) continue;
    const backend = {} as Record<BackendField, string>;
    for (const k of BACKEND_FIELDS) backend[k] = text(b[k]) ?? BACKEND_DEFAULTS[k];
    backend["ip-addr"] = parseIp(backend["ip-addr"])?.address ?? backend["ip-addr"];
    backend.mark = comparableMark(backend.mark);
    backend.state = configuredState(backend.state);
    backends.set(text(b.name)!, backend);
  }
  const first = addresses.values().next().value;
  const protocol = first?.protocol ?? text(f.protocol);
  const family = first?.family ?? text(f.family);
  return {
    name,
    ...(protocol === undefined ? {} : { protocol }),
    ...(family === undefined ? {} : { family }),
    fields,
    mark: parseMark(text(f.mark)) ?? 0,
    addresses,
    backends,
  };
}

/** "0x2" (GET) and "0x002" (sent) are one mark. */
const comparableMark = (m: string): string => {
  const n = parseMark(m);
  return n === undefined ? "" : formatMark(n);
};

/** Field lists ("srcip srcport", "input output") compare as sets: nftlb prints its own order. */
function comparable(key: FarmField, value: string): string {
  if (key !== "sched-param" && key !== "persistence" && key !== "log") return value.trim();
  return value.trim().split(/\s+/).sort().join(" ");
}

/**
 * A backend's state as configuration: `config_error` (e.g. no MAC resolved yet) and `available`
 * (standby by priority) are nftlb's verdicts on a backend configured `up`, not settings to
 * correct; re-sending `up` would make every plan non-empty while they last.
 */
const configuredState = (s: string): string => (s === "config_error" || s === "available" ? "up" : s);

const isRecord = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v);
const list = (v: unknown): unknown[] => (Array.isArray(v) ? (v as unknown[]) : []);

/** Trimmed string values; numbers, null and the rest count as absent (nftlb only writes strings). */
const text = (v: unknown): string | undefined => (typeof v === "string" ? v.trim() : undefined);

/** The comparable form of a desired address or backend (same rules as for GET answers). */
export const normaliseAddress = (a: Address): Record<AddressField, string> => ({
  family: a.family,
  "ip-addr": parseIp(a["ip-addr"])?.address ?? a["ip-addr"],
  ports: a.ports,
  protocol: a.protocol,
});

export function normaliseBackend(b: Backend): Record<BackendField, string> {
  const out = {} as Record<BackendField, string>;
  for (const k of BACKEND_FIELDS) out[k] = (b[k] ?? BACKEND_DEFAULTS[k]).trim();
  out["ip-addr"] = parseIp(out["ip-addr"])?.address ?? out["ip-addr"];
  out.mark = comparableMark(out.mark);
  return out;
}
