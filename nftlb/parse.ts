// nftlb's answers → our types. GET answers carry more keys than we model (kept loose, ignored),
// and nftlb pads some values with a trailing space ("srcip "), so every string is trimmed. A field
// GET leaves out takes nftlb's default from normalise.ts, the one table plan compares with.
import { z } from "zod";
import type { Address, Backend, BackendState, Farm, ListedAddress } from "./types.ts";
import { ADDRESS_DEFAULTS, BACKEND_DEFAULTS, FARM_DEFAULTS } from "./normalise.ts";

export const MessageAnswer = z.looseObject({ response: z.string() });

// nftlb's answers are read straight from JSON.parse's objects, checked as they are copied: a zod
// pass first made a second full copy of every farm (at 1,000 farms × 10 backends, ~40 ms of the
// cold start's read-back beside nftlb's ~90 ms to send it).
type Json = Record<string, unknown>;

/** The answer is not what nftlb sends (`where`: the path to the first odd value). */
class Shape extends Error {}

const isObject = (v: unknown): v is Json => typeof v === "object" && v !== null && !Array.isArray(v);

/** A string field, trimmed; undefined when absent. */
const optStr = (o: Json, key: string, at: string): string | undefined => {
  const v = o[key];
  if (v === undefined) return undefined;
  if (typeof v !== "string") throw new Shape(`${at}.${key}: expected a string`);
  return v.trim();
};

const str = (o: Json, key: string, at: string): string => {
  const v = optStr(o, key, at);
  if (v === undefined) throw new Shape(`${at}.${key}: missing`);
  return v;
};

/** An array of objects; [] when absent. */
const objects = (v: unknown, at: string): Json[] => {
  if (v === undefined) return [];
  if (!Array.isArray(v)) throw new Shape(`${at}: expected an array`);
  return v.map((x, i) => {
    if (!isObject(x)) throw new Shape(`${at}[${i}]: expected an object`);
    return x;
  });
};

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
type EarlierFarm = Pick<Farm, "name"> &
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

const toAddress = (a: Json, s: Share, at: string, l: Lenders): Address => {
  const name = str(a, "name", at);
  const read = l.read?.addresses.find((x) => x.name === name);
  const sent = l.sent?.addresses?.find((x) => x.name === name);
  return {
    name: lent(s, name, read?.name, sent?.name),
    family: optStr(a, "family", at) === "ipv6" ? "ipv6" : ADDRESS_DEFAULTS.family,
    "ip-addr": lent(
      s,
      optStr(a, "ip-addr", at) ?? ADDRESS_DEFAULTS["ip-addr"],
      read?.["ip-addr"],
      sent?.["ip-addr"],
    ),
    ports: s(optStr(a, "ports", at) ?? ADDRESS_DEFAULTS.ports),
    protocol: (optStr(a, "protocol", at) ?? ADDRESS_DEFAULTS.protocol) as Address["protocol"],
  };
};

const toBackend = (b: Json, s: Share, at: string, l: Lenders): Backend => {
  const raw = str(b, "name", at);
  const was = l.readBackends?.get(raw);
  const sent = l.sentBackends?.get(raw);
  const name = lent(s, raw, was?.name, sent?.name);
  const ip = lent(
    s,
    optStr(b, "ip-addr", at) ?? BACKEND_DEFAULTS["ip-addr"],
    was?.["ip-addr"],
    sent?.["ip-addr"],
  );
  const port = s(optStr(b, "port", at) ?? BACKEND_DEFAULTS.port);
  const weight = s(optStr(b, "weight", at) ?? BACKEND_DEFAULTS.weight);
  const priority = s(optStr(b, "priority", at) ?? BACKEND_DEFAULTS.priority);
  const markText = optStr(b, "mark", at);
  const mark = markText === undefined ? undefined : s(markText);
  // nftlb prints only its own states (BackendState), so what it prints passes as it is.
  const state = s(optStr(b, "state", at) ?? BACKEND_DEFAULTS.state) as BackendState;
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

const toFarm = (f: Json, s: Share, at: string, earlier?: Earlier): Farm => {
  const field = (key: string) => optStr(f, key, at);
  const name = str(f, "name", at);
  const l = lenders(name, earlier);
  const logPrefix = field("log-prefix");
  const owner = field("tcp-strict-log-prefix");
  const mark = field("mark");
  const intra = field("intra-connect");
  const state = field("state");
  return {
    name: lent(s, name, l.read?.name, l.sent?.name),
    family: field("family") === "ipv6" ? "ipv6" : ADDRESS_DEFAULTS.family,
    mode: s(field("mode") ?? FARM_DEFAULTS.mode) as Farm["mode"],
    protocol: s(field("protocol") ?? ADDRESS_DEFAULTS.protocol) as Farm["protocol"],
    scheduler: s(field("scheduler") ?? FARM_DEFAULTS.scheduler) as Farm["scheduler"],
    "sched-param": s(field("sched-param") ?? FARM_DEFAULTS["sched-param"]),
    persistence: s(field("persistence") ?? FARM_DEFAULTS.persistence),
    "persist-ttl": s(field("persist-ttl") ?? FARM_DEFAULTS["persist-ttl"]),
    helper: s(field("helper") ?? FARM_DEFAULTS.helper),
    log: s(field("log") ?? FARM_DEFAULTS.log),
    ...(logPrefix !== undefined ? { "log-prefix": logPrefix } : {}),
    ...(owner !== undefined
      ? {
          "tcp-strict-log-prefix": lent(
            s,
            owner,
            l.read?.["tcp-strict-log-prefix"],
            l.sent?.["tcp-strict-log-prefix"],
          ),
        }
      : {}),
    ...(mark !== undefined ? { mark: s(mark) } : {}),
    ...(intra !== undefined ? { "intra-connect": intra === "on" ? "on" : "off" } : {}),
    ...(state !== undefined ? { state: s(state) } : {}),
    // nftlb lists an empty default address `<farm>-addr` when a farm was created with farm-level
    // shortcuts; it carries no VIP and is not ours.
    addresses: objects(f.addresses, `${at}.addresses`).flatMap((a, i) =>
      (optStr(a, "ip-addr", `${at}.addresses[${i}]`) ?? "") === ""
        ? []
        : [toAddress(a, s, `${at}.addresses[${i}]`, l)],
    ),
    backends: objects(f.backends, `${at}.backends`).map((b, i) => toBackend(b, s, `${at}.backends[${i}]`, l)),
  };
};

/** `read` over the answer's `key` array, or the first odd value found. */
function list<T>(doc: unknown, key: string, what: string, read: (o: Json, at: string) => T): Parsed<T[]> {
  try {
    if (!isObject(doc)) throw new Shape("expected an object");
    if (doc[key] === undefined) throw new Shape(`${key}: missing`);
    return { ok: true, value: objects(doc[key], key).map((o, i) => read(o, `${key}[${i}]`)) };
  } catch (err) {
    if (!(err instanceof Shape)) throw err;
    return { ok: false, message: `answer is not ${what}: ${err.message}` };
  }
}

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
  const s = sharer();
  return list(doc.value, "farms", "a farm list", (f, at) => toFarm(f, s, at, earlier));
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
  const s = sharer();
  return list(doc.value, "addresses", "an address list", (a, at) => ({
    ...toAddress(a, s, at, {}),
    used: Number(optStr(a, "used", at) ?? "0") || 0,
  }));
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
