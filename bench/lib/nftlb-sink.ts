// An HTTP SINK standing in for nftlb in bench/syncer-memory.ts — not nftlb: it only stores what is
// POSTed and hands it back, enough for the syncer's client (Key check, GET /farms, GET /farms/NAME
// with nftlb's 500 "invalid request" for an unknown farm, GET /addresses listing the shared address
// objects, POST /farms merging farms, addresses and backends by name, the DELETE routes). Its
// listings are nftlb 1.0.7's in size and shape: every field nftlb lists with its default, marks as
// nftlb prints them ("0x2"), pretty-printed with an 8-space indent (checked against the real daemon:
// 100 of the bench's farms × 10 backends list as 725 KB, ~7.2 KB a farm; a compact listing of only
// the fields given is ~5× smaller, which made the syncer's read-backs unrealistically cheap).
import http from "node:http";
import type net from "node:net";
import { listedByNftlb } from "../../nftlb/farm-fixture.test-helpers.ts";

type Json = Record<string, unknown> & { name: string };
type SinkFarm = Json & { addresses?: Json[]; backends?: Json[] };
/** A request read by the sink ("in", its body's bytes) and its answer sent ("out"), by kind (`GET /farms`, …). */
export type SinkEvent = (kind: string, phase: "in" | "out", bytes: number) => void;

/** The sink: farms by name, merged like nftlb merges a POST (given keys set, others kept). */
export function startSink(key: string, onEvent: SinkEvent = () => {}) {
  const farms = new Map<string, SinkFarm>();
  // What the syncer asked: requests by kind, and the largest body each way (attribution).
  const stats = { requests: new Map<string, number>(), largestIn: 0, largestOut: 0 };
  const merge = (into: Json[] = [], given: unknown): Json[] => {
    for (const g of Array.isArray(given) ? (given as Json[]) : []) {
      const old = into.find((x) => x.name === g.name);
      if (old) Object.assign(old, g);
      else into.push({ ...g });
    }
    return into;
  };
  const post = (body: string): boolean => {
    let parsed: unknown;
    try {
      parsed = JSON.parse(body);
    } catch {
      return false;
    }
    const list = (parsed as { farms?: unknown }).farms;
    if (!Array.isArray(list) || !list.every((f) => typeof (f as Json)?.name === "string")) return false;
    for (const f of list as SinkFarm[]) {
      const { addresses, backends, ...fields } = f;
      const old = farms.get(f.name) ?? { name: f.name };
      Object.assign(old, fields);
      old.addresses = merge(old.addresses, addresses);
      old.backends = merge(old.backends, backends);
      farms.set(f.name, old);
    }
    return true;
  };
  // nftlb's address objects are shared by name; `used` counts the farms using one. Counted again
  // only after a change: the per-farm reads between two writes must not each scan every farm.
  let counted: Map<string, { object: Json; used: number }> | undefined;
  const uses = () => (counted ??= count());
  const count = () => {
    const byName = new Map<string, { object: Json; used: number }>();
    for (const f of farms.values())
      for (const a of f.addresses ?? []) {
        const seen = byName.get(a.name);
        byName.set(a.name, { object: { ...seen?.object, ...a }, used: (seen?.used ?? 0) + 1 });
      }
    return byName;
  };
  const listing = (list: SinkFarm[]) => {
    const used = uses();
    return { farms: list.map((f) => listedByNftlb(f, (a) => used.get(a)?.used ?? 0)) };
  };
  const route = (method: string, url: string, body: string): [number, unknown, boolean] => {
    const ok: [number, unknown, boolean] = [200, { response: "success" }, false];
    const invalid: [number, unknown, boolean] = [
      500,
      { response: "error", message: "invalid request" },
      false,
    ];
    const [, top, name, sub, item, extra] = url.split("/");
    if ((top !== "farms" && top !== "addresses") || extra !== undefined) return invalid;
    if (top === "addresses" && (method !== "GET" || name)) return invalid;
    const farm = name ? farms.get(name) : undefined;
    if (top === "addresses") {
      const addresses = [...uses().values()].map(({ object, used }) => ({ ...object, used: String(used) }));
      return [200, { addresses }, true];
    }
    if (method === "GET" && !name) return [200, listing([...farms.values()]), true];
    if (method === "POST" && !name)
      return post(body) ? ok : [400, { response: "error", message: "error parsing buffer" }, false];
    if (!farm) return invalid;
    if (method === "GET" && !sub) return [200, listing([farm]), true];
    if (method !== "DELETE") return invalid;
    if (!sub) farms.delete(farm.name);
    else if ((sub === "backends" || sub === "addresses") && item) {
      farm[sub] = (farm[sub] ?? []).filter((x) => x.name !== item);
    } else return invalid;
    return ok;
  };
  const server = http.createServer((req, res) => {
    const url = req.url ?? "";
    const kind = `${req.method} ${url.split("/").length > 2 ? "/farms/NAME…" : url}`;
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const body = Buffer.concat(chunks);
      onEvent(kind, "in", body.length);
      const [status, answer, pretty] =
        req.headers.key !== key
          ? [401, { response: "error", message: "authentication failed" }, false]
          : route(req.method ?? "", url, body.toString("utf8"));
      if (req.method !== "GET") counted = undefined;
      // nftlb indents its listings by 8 spaces; its one-line answers have a space after the colon.
      const text = pretty ? JSON.stringify(answer, null, 8) : JSON.stringify(answer).replace(/":"/g, '": "');
      stats.requests.set(kind, (stats.requests.get(kind) ?? 0) + 1);
      stats.largestIn = Math.max(stats.largestIn, body.length);
      stats.largestOut = Math.max(stats.largestOut, text.length);
      res.writeHead(status, { "Content-Type": "application/json", Connection: "close" });
      res.end(text, () => onEvent(kind, "out", text.length));
    });
  });
  return new Promise<{
    url: string;
    farms: Map<string, SinkFarm>;
    stats: typeof stats;
    close: () => Promise<void>;
  }>((resolve) =>
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as net.AddressInfo;
      resolve({
        url: `http://127.0.0.1:${port}`,
        farms,
        stats,
        close: () => new Promise<void>((r) => server.close(() => r())),
      });
    }),
  );
}
