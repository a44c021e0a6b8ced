// nftlb's answers → our types. GET answers carry more keys than we model (kept loose, ignored),
// and nftlb pads some values with a trailing space ("srcip "), so every string is trimmed. A field
// GET leaves out takes nftlb's default from normalise.ts, the one table plan compares with.
import { z } from "zod";
import type { Address, Backend, BackendState, Farm, ListedAddress } from "./types.ts";
import { ADDRESS_DEFAULTS, BACKEND_DEFAULTS, FARM_DEFAULTS } from "./normalise.ts";

const str = z.string().transform((s) => s.trim());
const optStr = str.optional();

const AddressJson = z.looseObject({
  name: str,
  family: optStr,
  "ip-addr": optStr,
  ports: optStr,
  protocol: optStr,
});

// GET /addresses also says how many farms use each address object (`used`).
const ListedAddressJson = AddressJson.extend({ used: optStr });
const AddressesAnswer = z.looseObject({ addresses: z.array(ListedAddressJson) });

const BackendJson = z.looseObject({
  name: str,
  "ip-addr": optStr,
  port: optStr,
  weight: optStr,
  priority: optStr,
  mark: optStr,
  state: optStr,
});

const FarmJson = z.looseObject({
  name: str,
  family: optStr,
  mode: optStr,
  protocol: optStr,
  scheduler: optStr,
  "sched-param": optStr,
  persistence: optStr,
  "persist-ttl": optStr,
  helper: optStr,
  log: optStr,
  "log-prefix": optStr,
  "tcp-strict-log-prefix": optStr,
  mark: optStr,
  "intra-connect": optStr,
  state: optStr,
  addresses: z.array(AddressJson).optional(),
  backends: z.array(BackendJson).optional(),
});

export const FarmsAnswer = z.looseObject({ farms: z.array(FarmJson) });
export const MessageAnswer = z.looseObject({ response: z.string() });

/**
 * One string per distinct value within one answer. The client keeps the farms it read for as long
 * as nftlb holds them, and JSON.parse makes a string per occurrence: at 10,000 farms × 10
 * backends every backend's port, mark, weight and state (the same few values over and over) and
 * its name (mostly its address) were held once each. Scoped to one answer, so nothing outlives it.
 */
type Share = (s: string) => string;
function sharer(): Share {
  const seen = new Map<string, string>();
  return (s) => {
    const had = seen.get(s);
    if (had !== undefined) return had;
    seen.set(s, s);
    return s;
  };
}

type EarlierBackend = Pick<Backend, "name"> & Partial<Backend>;
/** An earlier copy of a farm: as the client last read it, or as it was just written. */
export type EarlierFarm = Pick<Farm, "name"> &
  Partial<Pick<Farm, "tcp-strict-log-prefix">> & {
    addresses?: readonly (Pick<Address, "name"> & Partial<Address>)[];
    backends?: readonly EarlierBackend[];
  };

/**
 * Earlier copies of a farm being parsed (the client's: what it last read, what it just wrote).
 * The client keeps a farm it read as long as nftlb holds it, next to the cluster's endpoints
 * (informer) and the desired farms: parsed alone, its names and addresses were a third copy of
 * every endpoint's strings (~3 MiB at 10,000 Services × 10 endpoints). Taken from an earlier
 * copy where equal, they are the strings the written farm came from. A backend equal in every
 * field to the last read one of its name is that object: a farm read again costs no new backends.
 */
export type Earlier = (farm: string) => { read?: Farm | undefined; sent?: EarlierFarm | undefined };

/** One farm's earlier copies, by part. */
interface Lenders {
  read?: Farm | undefined;
  sent?: EarlierFarm | undefined;
  readBackends?: Map<string, Backend>;
  sentBackends?: Map<string, EarlierBackend>;
}
const byName = <T extends { name: string }>(xs: readonly T[] | undefined) =>
  xs === undefined || xs.length === 0 ? undefined : new Map(xs.map((x) => [x.name, x]));
const lenders = (name: string, earlier: Earlier | undefined): Lenders => {
  if (earlier === undefined) return {};
  const { read, sent } = earlier(name);
  return { read, sent, readBackends: byName(read?.backends), sentBackends: byName(sent?.backends) };
};
/** `v`, as the first earlier string equal to it if any (else shared within the answer). */
const lent = (s: Share, v: string, a: string | undefined, b: string | undefined): string =>
  v === a ? a : v === b ? b : s(v);

const toAddress = (a: z.infer<typeof AddressJson>, s: Share, l: Lenders): Address => {
  const read = l.read?.addresses.find((x) => x.name === a.name);
  const sent = l.sent?.addresses?.find((x) => x.name === a.name);
  return {
    name: lent(s, a.name, read?.name, sent?.name),
    family: a.family === "ipv6" ? "ipv6" : ADDRESS_DEFAULTS.family,
    "ip-addr": lent(s, a["ip-addr"] ?? ADDRESS_DEFAULTS["ip-addr"], read?.["ip-addr"], sent?.["ip-addr"]),
    ports: s(a.ports ?? ADDRESS_DEFAULTS.ports),
    protocol: (a.protocol ?? ADDRESS_DEFAULTS.protocol) as Address["protocol"],
  };
};

const toBackend = (b: z.infer<typeof BackendJson>, s: Share, l: Lenders): Backend => {
  const was = l.readBackends?.get(b.name);
  const sent = l.sentBackends?.get(b.name);
  const name = lent(s, b.name, was?.name, sent?.name);
  const ip = lent(s, b["ip-addr"] ?? BACKEND_DEFAULTS["ip-addr"], was?.["ip-addr"], sent?.["ip-addr"]);
  const port = s(b.port ?? BACKEND_DEFAULTS.port);
  const weight = s(b.weight ?? BACKEND_DEFAULTS.weight);
  const priority = s(b.priority ?? BACKEND_DEFAULTS.priority);
  const mark = b.mark === undefined ? undefined : s(b.mark);
  // nftlb prints only its own states (BackendState), so what it prints passes as it is.
  const state = s(b.state ?? BACKEND_DEFAULTS.state) as BackendState;
  if (
    was !== undefined &&
    was["ip-addr"] === ip &&
    was.port === port &&
    was.weight === weight &&
    was.priority === priority &&
    was.mark === mark &&
    was.state === state
  )
    return was;
  return {
    name,
    "ip-addr": ip,
    port,
    weight,
    priority,
    ...(mark !== undefined ? { mark } : {}),
    state,
  };
};

const toFarm = (f: z.infer<typeof FarmJson>, s: Share, earlier?: Earlier): Farm => {
  const l = lenders(f.name, earlier);
  const prefix = f["tcp-strict-log-prefix"];
  return {
    name: lent(s, f.name, l.read?.name, l.sent?.name),
    family: f.family === "ipv6" ? "ipv6" : ADDRESS_DEFAULTS.family,
    mode: s(f.mode ?? FARM_DEFAULTS.mode) as Farm["mode"],
    protocol: s(f.protocol ?? ADDRESS_DEFAULTS.protocol) as Farm["protocol"],
    scheduler: s(f.scheduler ?? FARM_DEFAULTS.scheduler) as Farm["scheduler"],
    "sched-param": s(f["sched-param"] ?? FARM_DEFAULTS["sched-param"]),
    persistence: s(f.persistence ?? FARM_DEFAULTS.persistence),
    "persist-ttl": s(f["persist-ttl"] ?? FARM_DEFAULTS["persist-ttl"]),
    helper: s(f.helper ?? FARM_DEFAULTS.helper),
    log: s(f.log ?? FARM_DEFAULTS.log),
    ...(f["log-prefix"] !== undefined ? { "log-prefix": f["log-prefix"] } : {}),
    ...(prefix !== undefined
      ? {
          "tcp-strict-log-prefix": lent(
            s,
            prefix,
            l.read?.["tcp-strict-log-prefix"],
            l.sent?.["tcp-strict-log-prefix"],
          ),
        }
      : {}),
    ...(f.mark !== undefined ? { mark: s(f.mark) } : {}),
    ...(f["intra-connect"] !== undefined
      ? { "intra-connect": f["intra-connect"] === "on" ? "on" : "off" }
      : {}),
    ...(f.state !== undefined ? { state: s(f.state) } : {}),
    // nftlb lists an empty default address `<farm>-addr` when a farm was created with farm-level
    // shortcuts; it carries no VIP and is not ours.
    addresses: (f.addresses ?? []).filter((a) => (a["ip-addr"] ?? "") !== "").map((a) => toAddress(a, s, l)),
    backends: (f.backends ?? []).map((b) => toBackend(b, s, l)),
  };
};

export type Parsed<T> = { ok: true; value: T } | { ok: false; message: string };

const json = (body: string): Parsed<unknown> => {
  try {
    return { ok: true, value: JSON.parse(body) as unknown };
  } catch {
    return { ok: false, message: `answer is not JSON (${body.length} bytes)` };
  }
};

/** `earlier`: copies of the farms to take equal strings and backends from (see Earlier). */
export const parseFarms = (body: string, earlier?: Earlier): Parsed<Farm[]> => {
  const doc = json(body);
  if (!doc.ok) return doc;
  const farms = FarmsAnswer.safeParse(doc.value);
  if (!farms.success)
    return { ok: false, message: `answer is not a farm list: ${z.prettifyError(farms.error)}` };
  const s = sharer();
  return { ok: true, value: farms.data.farms.map((f) => toFarm(f, s, earlier)) };
};

/** Above this many strings to look for, searching the text costs more than parsing it. */
const MAX_MENTIONS = 16;

/**
 * GET /addresses: every address object nftlb holds, with the number of farms using it. Given
 * `mentioning` (names, IPs), an answer whose text holds none of them as a JSON string is `[]`
 * unparsed: no object in it can have that name or IP. At 1,000 farms the answer is ~450 KB and
 * parsing it took ~4 ms of the syncer's CPU for each added Service; the search takes ~0.1 ms.
 */
export const parseAddresses = (body: string, mentioning?: readonly string[]): Parsed<ListedAddress[]> => {
  if (mentioning !== undefined && mentioning.length <= MAX_MENTIONS && looksLikeAddresses(body)) {
    // Strings in nftlb's answers are printed as stored; ours (IPs, names) need no JSON escape.
    if (!mentioning.some((m) => body.includes(JSON.stringify(m)))) return { ok: true, value: [] };
  }
  const doc = json(body);
  if (!doc.ok) return doc;
  const listed = AddressesAnswer.safeParse(doc.value);
  if (!listed.success)
    return { ok: false, message: `answer is not an address list: ${z.prettifyError(listed.error)}` };
  return {
    ok: true,
    value: listed.data.addresses.map((a) => ({
      ...toAddress(a, sharer(), {}),
      used: Number(a.used ?? "0") || 0,
    })),
  };
};

// An answer cut short or not nftlb's is parsed (and refused) as usual, never read as "none".
const looksLikeAddresses = (body: string): boolean =>
  /^\s*\{\s*"addresses"\s*:\s*\[/.test(body) && /\]\s*\}\s*$/.test(body.slice(-64));

/** The `response` message of a non-GET answer; nftlb does not escape quotes, so fall back to the raw body. */
export const parseMessage = (body: string): string => {
  const doc = json(body);
  if (doc.ok) {
    const m = MessageAnswer.safeParse(doc.value);
    if (m.success) return m.data.response;
  }
  const raw = /^\{"response": "(.*)"\}\s*$/s.exec(body);
  return (raw?.[1] ?? body).slice(0, 500);
};
