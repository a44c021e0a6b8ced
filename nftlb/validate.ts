// Checks a batch of farms before it is sent. nftlb's parser accepts much that nft then refuses
// (bad addresses, duplicate VIP:port, duplicate marks): it answers 200, installs nothing
// for that farm and rebuilds its whole table, a short outage for every farm. Refusing here is
// the only way to keep one bad Service from disturbing the others.
import { isIP } from "node:net";
import { BACKEND_SETTINGS, type Address, type Backend, type Farm, type NftlbProtocol } from "./types.ts";
import type { BackendPatch, FarmPatch } from "./serialize.ts";
import {
  farmMarkOf,
  formatMark,
  isBackendMark,
  isFarmMark,
  MAX_BACKENDS_PER_FARM,
  parseMark,
} from "./marks.ts";
import { isIfaceName, isUsableMac } from "./interfaces.ts";

// Farm names become nft chain names (`filter-<name>`) and URL path segments: no `/`, no spaces.
const FARM_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$/;
// Backend names may be an address when the endpoint has no Pod (IPv6 brings colons).
const BACKEND_NAME = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,199}$/;
const NUMBER = /^[0-9]{1,9}$/;
const HASH_FIELDS = new Set(["srcip", "dstip", "srcport", "dstport", "srcmac", "dstmac"]);
/**
 * The protocols each helper works on in nftlb 1.0.7; any other pair is an HTTP 400 there. The
 * annotation contract states the same matrix for users (annotations/contract.ts): neither module
 * may import the other, so test/nftlb-helpers.test.ts pins both to what the real nftlb accepts.
 */
export const NFTLB_HELPER_PROTOCOLS: Readonly<Record<string, readonly NftlbProtocol[]>> = {
  ftp: ["tcp"],
  pptp: ["tcp"],
  sip: ["tcp", "udp"],
  snmp: ["udp"],
  tftp: ["udp"],
};
const ENUMS: Record<string, readonly string[]> = {
  mode: ["snat", "dnat", "dsr", "stlsdnat"],
  scheduler: ["rr", "weight", "hash", "symhash"],
  helper: ["none", ...Object.keys(NFTLB_HELPER_PROTOCOLS)],
  // nftlb 1.0.7 reads anything but "on" as "off", silently (config_value_switch).
  "intra-connect": ["on", "off"],
};

const isPort = (p: string): boolean => NUMBER.test(p) && Number(p) >= 1 && Number(p) <= 65535;

/** "80", "80,443", "8000-8002": nftlb expands each into map elements, one per port. */
export const expandPorts = (ports: string): number[] | undefined => {
  const out: number[] = [];
  for (const part of ports.split(",")) {
    const [from, to, extra] = part.split("-");
    if (from === undefined || !isPort(from) || extra !== undefined || (to !== undefined && !isPort(to))) {
      return undefined;
    }
    const last = to === undefined ? Number(from) : Number(to);
    if (last < Number(from) || last - Number(from) > 1024) return undefined;
    for (let p = Number(from); p <= last; p++) out.push(p);
  }
  return out;
};

const fieldList = (value: string, allowed: ReadonlySet<string>): boolean =>
  value === "none" ||
  (value.trim() !== "" &&
    value
      .trim()
      .split(/ +/)
      .every((w) => allowed.has(w)));

const byName = <T extends { name: string }>(known: readonly T[] = [], given: readonly T[] = []): T[] => {
  const all = new Map(known.map((x) => [x.name, x]));
  for (const x of given) all.set(x.name, { ...all.get(x.name), ...x });
  return [...all.values()];
};

/** The backends nftlb will hold after `patches`, applied in order (renames included). */
export const mergeBackends = (
  known: readonly Backend[] = [],
  patches: readonly BackendPatch[] = [],
): Backend[] => {
  const all = new Map(known.map((b) => [b.name, b]));
  for (const { newname, ...p } of patches) {
    const merged = { ...all.get(p.name), ...p } as Backend;
    if (newname !== undefined && newname !== p.name) {
      all.delete(p.name);
      all.set(newname, { ...merged, name: newname });
    } else all.set(p.name, merged);
  }
  return [...all.values()];
};

const checkAddress = (farm: string, a: Address, problems: string[]): void => {
  const where = `farm "${farm}" address "${a.name}"`;
  if (!FARM_NAME.test(a.name ?? "")) problems.push(`${where}: invalid address name`);
  const family = isIP(a["ip-addr"] ?? "");
  if (family === 0) problems.push(`${where}: "${a["ip-addr"]}" is not an IP address`);
  else if ((family === 4 ? "ipv4" : "ipv6") !== a.family) {
    problems.push(`${where}: "${a["ip-addr"]}" is not an ${a.family} address`);
  }
  if (expandPorts(a.ports ?? "") === undefined) problems.push(`${where}: invalid ports "${a.ports}"`);
  if (!["tcp", "udp", "sctp"].includes(a.protocol))
    problems.push(`${where}: invalid protocol "${a.protocol}"`);
  if (a.iface !== undefined && !isIfaceName(a.iface))
    problems.push(`${where}: invalid interface name ${JSON.stringify(a.iface)}`);
  const mac = a["ether-addr"];
  if (mac !== undefined && !isUsableMac(mac))
    problems.push(`${where}: invalid ether-addr ${JSON.stringify(mac)} (a MAC like 52:54:00:12:34:56)`);
};

/**
 * dsr/stlsdnat when the mode is set (measured, docs/nftlb.md): `oface` on the farm, and on every
 * address the client-side `iface` and its MAC — nftlb finds no local interface holding a
 * ClusterIP and leaves the farm in config_error otherwise. GET never shows them, so a farm
 * switching mode must be sent with its addresses.
 */
const checkIngress = (f: FarmPatch, where: string, problems: string[]): void => {
  if (f.mode !== "dsr" && f.mode !== "stlsdnat") return;
  if (!f.oface) problems.push(`${where}: mode ${f.mode} needs oface (nftlb leaves the farm in config_error)`);
  else if (!isIfaceName(f.oface)) problems.push(`${where}: invalid oface ${JSON.stringify(f.oface)}`);
  if (f.iface !== undefined && !isIfaceName(f.iface))
    problems.push(`${where}: invalid iface ${JSON.stringify(f.iface)}`);
  const addresses = f.addresses ?? [];
  if (addresses.length === 0)
    problems.push(
      `${where}: mode ${f.mode} must be sent with its addresses (each needs iface and ether-addr)`,
    );
  for (const a of addresses) {
    if (!(a.iface ?? f.iface) || a["ether-addr"] === undefined)
      problems.push(
        `${where} address "${a.name}": mode ${f.mode} needs iface and ether-addr (the client-side interface and its MAC)`,
      );
  }
};

const checkBackend = (
  farm: string,
  family: string | undefined,
  b: BackendPatch,
  problems: string[],
): void => {
  const where = `farm "${farm}" backend "${b.name}"`;
  if (!BACKEND_NAME.test(b.name ?? "")) problems.push(`${where}: invalid backend name`);
  if (b.newname !== undefined && !BACKEND_NAME.test(b.newname))
    problems.push(`${where}: invalid new name ${JSON.stringify(b.newname)}`);
  const ip = b["ip-addr"];
  if (ip !== undefined) {
    const fam = isIP(ip);
    if (fam === 0) problems.push(`${where}: "${ip}" is not an IP address`);
    else if (family !== undefined && (fam === 4 ? "ipv4" : "ipv6") !== family) {
      problems.push(`${where}: "${ip}" is not an ${family} address like the farm's`);
    }
  }
  if (b.port !== undefined && b.port !== "" && !isPort(b.port))
    problems.push(`${where}: invalid port "${b.port}"`);
  for (const k of ["weight", "priority"] as const) {
    const v = b[k];
    if (v !== undefined && (!NUMBER.test(v) || Number(v) < 1)) problems.push(`${where}: ${k} must be ≥ 1`);
  }
  if (b.state !== undefined && !(BACKEND_SETTINGS as readonly string[]).includes(b.state)) {
    problems.push(`${where}: invalid state "${String(b.state)}"`);
  }
  if (b.mark !== undefined && !isBackendMark(parseMark(b.mark)))
    problems.push(`${where}: invalid mark ${JSON.stringify(b.mark)} (hex, 0x002-0xfff)`);
};

/**
 * Marks of the backends nft will see (all but `down`): unique within the farm, or nft refuses
 * the farm and nftlb rebuilds everything. At most one mark per backend, 0x002-0xFFF.
 */
const checkMarks = (farm: Farm, sent: FarmPatch, problems: string[]): void => {
  const where = `farm "${farm.name}"`;
  const live = farm.backends.filter((b) => b.state !== "down");
  if (live.length > MAX_BACKENDS_PER_FARM)
    problems.push(`${where}: ${live.length} backends; a farm holds at most ${MAX_BACKENDS_PER_FARM}`);
  const seen = new Map<number, string>();
  for (const b of live) {
    const m = parseMark(b.mark);
    if (m === undefined) continue;
    const other = seen.get(m);
    if (other !== undefined)
      problems.push(`${where}: backends "${other}" and "${b.name}" share mark ${formatMark(m)}`);
    seen.set(m, b.name);
  }
  if (sent.mark !== undefined && !isFarmMark(parseMark(sent.mark)))
    problems.push(
      `${where}: invalid farm mark ${JSON.stringify(sent.mark)} (hex, a multiple of 0x1000 below 0x80000000)`,
    );
};

const checkFarm = (f: FarmPatch, merged: Farm, problems: string[]): void => {
  const where = `farm "${f.name}"`;
  if (!FARM_NAME.test(f.name ?? "")) {
    problems.push(`${where}: invalid farm name (letters, digits, ".", "_", "-"; at most 200)`);
  }
  for (const [key, values] of Object.entries(ENUMS)) {
    const v = (f as Record<string, unknown>)[key];
    if (v !== undefined && !values.includes(v as string)) {
      problems.push(`${where}: invalid ${key} ${JSON.stringify(v)}`);
    }
  }
  for (const key of ["sched-param", "persistence"] as const) {
    const v = f[key];
    if (v !== undefined && !fieldList(v, HASH_FIELDS)) problems.push(`${where}: invalid ${key} "${v}"`);
  }
  if (f.log !== undefined && !fieldList(f.log, new Set(["input", "forward", "output"]))) {
    problems.push(`${where}: invalid log "${f.log}"`);
  }
  if (f["persist-ttl"] !== undefined && !NUMBER.test(f["persist-ttl"])) {
    problems.push(`${where}: persist-ttl must be a number of seconds`);
  }
  checkIngress(f, where, problems);
  for (const a of f.addresses ?? []) checkAddress(f.name, a, problems);
  const families = new Set(merged.addresses.map((a) => a.family));
  const protocols = new Set(merged.addresses.map((a) => a.protocol));
  if (families.size > 1)
    problems.push(`${where}: addresses of one farm must share one family (one farm per family)`);
  if (protocols.size > 1) problems.push(`${where}: addresses of one farm must share one protocol`);
  const protocol = [...protocols][0];
  const helper = merged.helper;
  if (helper !== undefined && helper !== "none" && protocol !== undefined) {
    if (!(NFTLB_HELPER_PROTOCOLS[helper] ?? []).includes(protocol)) {
      problems.push(`${where}: helper ${helper} does not work on ${protocol}`);
    }
  }
  const family = [...families][0];
  for (const b of f.backends ?? []) checkBackend(f.name, family, b, problems);
  checkMarks(merged, f, problems);
};

/** Which of nftlb's farms sit on an IP or hold a farm mark (the client's KnownFarms). */
export interface FarmLookup {
  withIp(ip: string): Iterable<string>;
  withFarmMark(mark: number): Iterable<string>;
}

/**
 * Problems with sending `batch` to an nftlb that holds `known` (the farms the client last saw).
 * An empty list means the batch is safe to send. `lookup`: the farms of `known` that can clash
 * with the batch are looked up rather than found by walking them all.
 */
export const validateFarms = (
  batch: readonly FarmPatch[],
  known: ReadonlyMap<string, Farm>,
  lookup?: FarmLookup,
): string[] => {
  const problems: string[] = [];
  const names = new Set<string>();
  const sent: Farm[] = [];
  for (const f of batch) {
    if (names.has(f.name)) problems.push(`farm "${f.name}" appears twice in one batch`);
    names.add(f.name);
    const old = known.get(f.name);
    const farm = {
      ...old,
      ...f,
      addresses: byName(old?.addresses, f.addresses),
      backends: mergeBackends(old?.backends, f.backends),
    } as Farm;
    checkFarm(f, farm, problems);
    sent.push(farm);
  }
  // VIP:ports and farm marks are node-wide. Only the batch can bring a new clash, so its farms
  // are checked against each other, then against every other farm nftlb holds — cheaply: the
  // ports of another farm's address are expanded only when a batch farm uses its IP (with
  // thousands of farms present, expanding them all cost more than nftlb's answer to a small POST).
  const claims = new Map<string, string>();
  // By IP alone first: asked of every address nftlb holds, it builds no string for the others.
  const ips = new Set<string | undefined>();
  const farmMarks = new Map<number, string>();
  for (const farm of sent) {
    const fm = farmMarkOf(farm);
    if (fm !== undefined) {
      const owner = farmMarks.get(fm);
      if (owner !== undefined)
        problems.push(`farms "${owner}" and "${farm.name}" share farm mark ${formatMark(fm)}`);
      farmMarks.set(fm, farm.name);
    }
    for (const a of farm.addresses) {
      ips.add(a["ip-addr"]);
      for (const port of expandPorts(a.ports ?? "") ?? []) {
        const c = `${a.protocol} ${a["ip-addr"]}:${port}`;
        const owner = claims.get(c);
        if (owner !== undefined) problems.push(`farms "${owner}" and "${farm.name}" both claim ${c}`);
        claims.set(c, farm.name);
      }
    }
  }
  for (const [name, farm] of lookup ? clashing(known, lookup, ips, farmMarks.keys()) : known) {
    if (names.has(name)) continue;
    const fm = farmMarks.size === 0 ? undefined : farmMarkOf(farm);
    const markOwner = fm === undefined ? undefined : farmMarks.get(fm);
    if (markOwner !== undefined)
      problems.push(`farms "${name}" and "${markOwner}" share farm mark ${formatMark(fm!)}`);
    for (const a of farm.addresses) {
      if (!ips.has(a["ip-addr"])) continue;
      for (const port of expandPorts(a.ports ?? "") ?? []) {
        const c = `${a.protocol} ${a["ip-addr"]}:${port}`;
        const owner = claims.get(c);
        if (owner !== undefined) problems.push(`farms "${name}" and "${owner}" both claim ${c}`);
      }
    }
  }
  return problems;
};

/** The farms of `known` on one of `ips` or holding one of `marks`. */
function* clashing(
  known: ReadonlyMap<string, Farm>,
  lookup: FarmLookup,
  ips: ReadonlySet<string | undefined>,
  marks: Iterable<number>,
): Iterable<[string, Farm]> {
  const names = new Set<string>();
  for (const ip of ips) if (ip !== undefined) for (const n of lookup.withIp(ip)) names.add(n);
  for (const m of marks) for (const n of lookup.withFarmMark(m)) names.add(n);
  for (const n of names) {
    const farm = known.get(n);
    if (farm !== undefined) yield [n, farm];
  }
}
