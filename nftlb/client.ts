// The only code that talks to nftlb. Every call resolves to a result value, never throws, and
// classifies failures so callers know whether retrying can help (see NftlbErrorKind).
import type { Farm, ListedAddress, NftlbError, NftlbResult } from "./types.ts";
import { createTransport, redact, type Answer, type Send } from "./transport.ts";
import { parseAddresses, parseFarms, parseMessage } from "./parse.ts";
import { serializeFarms, type FarmPatch } from "./serialize.ts";
import { validateFarms } from "./validate.ts";
import { verifyWritten } from "./verify.ts";
import { KnownFarms, type ReadonlyKnownFarms } from "./known-farms.ts";

/**
 * A farm the client plants to detect nftlb restarts: nftlb keeps state only in memory, so after a
 * restart the sentinel is gone. It is `state: off` with no address, so nft gets no rules for it.
 * Its name has no dot, so it never collides with a Service's farm `<namespace>.<service>.<port>`.
 */
export const SENTINEL_FARM = "kube-nftlb-sentinel";

export interface NftlbLog {
  debug(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

export interface NftlbClientOptions {
  url: string;
  key: string;
  timeoutMs: number;
  log?: NftlbLog;
  maxAnswerBytes?: number;
  /** false only for tests that probe nftlb's own answers to input the client would refuse. */
  validate?: boolean;
  /** Inject another transport (tests); defaults to axios over node:http. */
  send?: Send;
  /**
   * How long `ping()` waits (default timeoutMs). The ping has its own connection, outside the
   * queue the other calls wait in: a hung nftlb is seen while a write to it is still stuck.
   */
  pingTimeoutMs?: number;
  /** Inject the ping's transport (tests); defaults to `send` when that is injected. */
  pingSend?: Send;
}

export interface NftlbClient {
  listFarms(): Promise<NftlbResult<Farm[]>>;
  getFarm(name: string): Promise<NftlbResult<Farm | undefined>>;
  /**
   * Every address object nftlb holds (GET /addresses: ~450 KB and ~10 ms at 1,000 farms, against
   * ~7 MB and ~90 ms for GET /farms). Leaves `known()` as it is. Given `mentioning` (names,
   * IPs), at least the objects whose answer text mentions one of them: [] when none does.
   */
  listAddresses(mentioning?: readonly string[]): Promise<NftlbResult<ListedAddress[]>>;
  /**
   * One POST for the whole batch, then a GET to check that what was written is in place.
   * `timeoutMs`: how long the POST may take, if longer than the client's timeout.
   */
  upsertFarms(farms: readonly FarmPatch[], opts?: { timeoutMs?: number }): Promise<NftlbResult<Farm[]>>;
  deleteFarm(name: string): Promise<NftlbResult<void>>;
  deleteBackend(farm: string, backend: string): Promise<NftlbResult<void>>;
  /**
   * Several backends of one farm removed in ONE POST, then the farm read back. Meant for
   * backends already set down (out of the rules): nftlb then rewrites nothing nft sees, and
   * one request costs a third of a DELETE per backend (measured, docs/nftlb.md).
   */
  deleteBackends(farm: string, backends: readonly string[]): Promise<NftlbResult<void>>;
  deleteAddress(farm: string, address: string): Promise<NftlbResult<void>>;
  /** Cheap liveness and restart probe: `sentinel: false` means nftlb lost its farms (restarted). */
  ping(): Promise<NftlbResult<{ sentinel: boolean }>>;
  /** Plant the sentinel after a full sync, so that a later `ping()` can tell a restart. */
  plantSentinel(): Promise<NftlbResult<void>>;
  /** The farms as the client last saw them (GET answers and verified writes); one map for the client's life. */
  known(): ReadonlyKnownFarms;
}

const SEGMENT = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,199}$/;
const UNKNOWN_VALUE = /Parsing unknown value/;
// Per-farm GETs (~2 ms each) beat one GET /farms (~0.26 ms per farm present) below 1 in 8.
const PER_FARM_READ_RATIO = 8;
// 5xx answers that are nftlb's parser refusing the input, not the daemon failing.
const PARSE_FAILURE = /error parsing buffer|invalid request|Unknown key/;

export const createNftlbClient = (options: NftlbClientOptions): NftlbClient => {
  const send = options.send ?? createTransport(options);
  const pingSend =
    options.pingSend ??
    (options.send !== undefined
      ? options.send
      : createTransport({
          ...options,
          timeoutMs: options.pingTimeoutMs ?? options.timeoutMs,
          serial: false,
        }));
  const known = new KnownFarms();
  const fail = (operation: string, kind: NftlbError["kind"], message: string, status?: number) => {
    const error: NftlbError = { kind, operation, message: redact(message, options.key) };
    if (status !== undefined) error.status = status;
    options.log?.warn({ operation, kind, status }, error.message);
    return { ok: false as const, error };
  };

  /** Sends one request and turns every way it can go wrong into a classified error. */
  // `missingOk`: a GET of an unknown farm (nftlb: 500 "invalid request") is an answer, not a failure.
  const call = async (
    operation: string,
    method: "GET" | "POST" | "DELETE",
    path: string,
    body?: string,
    missingOk = false,
    via: Send = send,
    timeoutMs?: number,
  ) => {
    const started = Date.now();
    const sent = await via(method, path, body, timeoutMs);
    if (!sent.ok) {
      const kind = sent.reason === "too-large" ? "terminal" : "retryable";
      const failed = fail(operation, kind, `${method} ${path}: ${sent.message}`);
      if (sent.reason === "timeout") failed.error.timedOut = true;
      return failed;
    }
    const { status } = sent.answer;
    options.log?.debug({ operation, method, path, status, ms: Date.now() - started }, "nftlb answered");
    if (status >= 200 && status < 300) return { ok: true as const, value: sent.answer };
    if (missingOk && status === 500 && /invalid request/.test(sent.answer.body)) {
      return { ok: true as const, value: sent.answer };
    }
    const message = `${method} ${path}: HTTP ${status} ${parseMessage(sent.answer.body)}`;
    if (status === 401)
      return fail(operation, "fatal", `${method} ${path}: HTTP 401: nftlb refused the key`, 401);
    if (status >= 500 && !PARSE_FAILURE.test(sent.answer.body))
      return fail(operation, "retryable", message, status);
    return fail(operation, "terminal", message, status);
  };

  const checkNames = (operation: string, ...names: string[]) => {
    const bad = names.find((n) => !SEGMENT.test(n));
    return bad === undefined ? undefined : fail(operation, "terminal", `invalid name ${JSON.stringify(bad)}`);
  };

  // What the client last read, and what it just wrote: equal strings and backends come from them.
  const readFarms = (operation: string, answer: Answer, sent?: ReadonlyMap<string, FarmPatch>) => {
    const farms = parseFarms(answer.body, (name) => ({ read: known.get(name), sent: sent?.get(name) }));
    if (!farms.ok) return fail(operation, "terminal", farms.message, answer.status);
    return { ok: true as const, value: farms.value.filter((f) => f.name !== SENTINEL_FARM) };
  };

  const getFarm = async (
    name: string,
    operation = "getFarm",
    timeoutMs?: number,
    sent?: ReadonlyMap<string, FarmPatch>,
  ): Promise<NftlbResult<Farm | undefined>> => {
    const bad = checkNames(operation, name);
    if (bad) return bad;
    const res = await call(operation, "GET", `/farms/${name}`, undefined, true, send, timeoutMs);
    if (!res.ok) return res;
    if (res.value.status === 500) {
      known.delete(name);
      return { ok: true, value: undefined };
    }
    const farms = readFarms(operation, res.value, sent);
    if (!farms.ok) return farms;
    const farm = farms.value.find((f) => f.name === name);
    if (farm) known.set(name, farm);
    return { ok: true, value: farm };
  };

  /**
   * Reads written farms back at the lowest cost: one small GET each while they are few next to
   * all farms (a GET /farms of 1,000 farms is ~7 MB and ~260 ms), one GET /farms otherwise.
   * `timeoutMs`: the write's own deadline, which covers its read-back too.
   */
  const readBack = async (
    written: readonly FarmPatch[],
    timeoutMs?: number,
  ): Promise<NftlbResult<unknown>> => {
    const sent = new Map(written.map((f) => [f.name, f]));
    if (sent.size > Math.max(1, known.size / PER_FARM_READ_RATIO)) return listFarms(timeoutMs, sent);
    for (const name of sent.keys()) {
      const r = await getFarm(name, "upsertFarms", timeoutMs, sent);
      if (!r.ok) return r;
    }
    return { ok: true, value: undefined };
  };

  const listFarms = async (
    timeoutMs?: number,
    sent?: ReadonlyMap<string, FarmPatch>,
  ): Promise<NftlbResult<Farm[]>> => {
    const res = await call("listFarms", "GET", "/farms", undefined, false, send, timeoutMs);
    if (!res.ok) return res;
    const farms = readFarms("listFarms", res.value, sent);
    if (!farms.ok) return farms;
    known.clear();
    for (const f of farms.value) known.set(f.name, f);
    return farms;
  };

  const listAddresses = async (mentioning?: readonly string[]): Promise<NftlbResult<ListedAddress[]>> => {
    const res = await call("listAddresses", "GET", "/addresses");
    if (!res.ok) return res;
    const listed = parseAddresses(res.value.body, mentioning);
    if (!listed.ok) return fail("listAddresses", "terminal", listed.message, res.value.status);
    return listed;
  };

  const del = async (operation: string, path: string, names: string[], forget: () => void) => {
    const bad = checkNames(operation, ...names);
    if (bad) return bad;
    const res = await call(operation, "DELETE", path);
    if (!res.ok) return res;
    forget();
    return { ok: true as const, value: undefined };
  };

  return {
    known: () => known,
    getFarm: (name) => getFarm(name),

    listFarms: () => listFarms(),
    listAddresses,

    async upsertFarms(farms, opts = {}) {
      const operation = "upsertFarms";
      if (farms.length === 0) return { ok: true, value: [] };
      const problems = options.validate === false ? [] : validateFarms(farms, known, known);
      if (problems.length > 0)
        return fail(operation, "terminal", `refused before sending: ${problems.join("; ")}`);
      // The configured timeout is the floor: a big batch legitimately takes nftlb longer.
      const timeoutMs = Math.max(options.timeoutMs, opts.timeoutMs ?? 0);
      const res = await call(operation, "POST", "/farms", serializeFarms(farms), false, send, timeoutMs);
      if (!res.ok) return res;
      const message = parseMessage(res.value.body);
      if (UNKNOWN_VALUE.test(message)) return fail(operation, "terminal", message, res.value.status);
      // A 200 only means nftlb's parser took it: read the farms back and compare.
      const read = await readBack(farms, timeoutMs);
      if (!read.ok) return read;
      const actual = new Map(farms.flatMap((f) => (known.has(f.name) ? [[f.name, known.get(f.name)!]] : [])));
      const mismatch = verifyWritten(farms, actual);
      if (mismatch.length > 0)
        return fail(operation, "terminal", `written but not in place: ${mismatch.join("; ")}`);
      return { ok: true, value: farms.map((f) => known.get(f.name)!) };
    },

    deleteFarm: (name) => del("deleteFarm", `/farms/${name}`, [name], () => known.delete(name)),

    deleteBackend: (farm, backend) =>
      del("deleteBackend", `/farms/${farm}/backends/${backend}`, [farm, backend], () => {
        const f = known.get(farm);
        if (f) known.set(farm, { ...f, backends: f.backends.filter((b) => b.name !== backend) });
      }),

    async deleteBackends(farm, backends) {
      const operation = "deleteBackends";
      if (backends.length === 0) return { ok: true, value: undefined };
      const bad = checkNames(operation, farm, ...backends);
      if (bad) return bad;
      // One farm object per backend: after a backend's "action": "delete" nftlb 1.0.7 has no
      // current backend, and the next one in the same array is refused (404, measured).
      const body = `{"farms":[${backends
        .map(
          (b) =>
            `{"name":${JSON.stringify(farm)},"backends":[{"name":${JSON.stringify(b)},"action":"delete"}]}`,
        )
        .join(",")}]}`;
      const res = await call(operation, "POST", "/farms", body);
      if (!res.ok) return res;
      const message = parseMessage(res.value.body);
      if (UNKNOWN_VALUE.test(message)) return fail(operation, "terminal", message, res.value.status);
      const read = await getFarm(farm, operation);
      if (!read.ok) return read;
      const left = new Set((read.value?.backends ?? []).map((b) => b.name));
      const stuck = backends.filter((b) => left.has(b));
      if (stuck.length > 0)
        return fail(
          operation,
          "terminal",
          `farm "${farm}" still has backends ${stuck.slice(0, 5).join(", ")}`,
        );
      return { ok: true, value: undefined };
    },

    deleteAddress: (farm, address) =>
      del("deleteAddress", `/farms/${farm}/addresses/${address}`, [farm, address], () => {
        const f = known.get(farm);
        if (f) known.set(farm, { ...f, addresses: f.addresses.filter((a) => a.name !== address) });
      }),

    async ping() {
      const res = await call("ping", "GET", `/farms/${SENTINEL_FARM}`, undefined, true, pingSend);
      return res.ok ? { ok: true, value: { sentinel: res.value.status === 200 } } : res;
    },

    async plantSentinel() {
      const res = await call(
        "plantSentinel",
        "POST",
        "/farms",
        `{"farms":[{"name":"${SENTINEL_FARM}","state":"off"}]}`,
      );
      return res.ok ? { ok: true, value: undefined } : res;
    },
  };
};
