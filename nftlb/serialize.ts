// Farms → the exact bytes nftlb 1.0.7 parses correctly. nftlb applies keys while it parses, in
// document order, so the order below is part of the protocol, not style:
// - `name` first in every object (keys before it modify whichever object was "current").
// - No farm-level `family`/`protocol`: they are shortcuts that create an empty default address
//   `<farm>-addr`, which nft then refuses ("syntax error, unexpected colon") while the API still
//   says success (measured on 1.0.7). The farm takes both from its first address instead.
// - `helper` after `addresses`: nftlb checks the helper against the protocol known at that point.
// - `scheduler` before `sched-param`: setting the scheduler resets the parameter.
// Every value is a string: nftlb silently ignores numbers, booleans and null.
import type { Address, Backend, Farm } from "./types.ts";

type Field = [string, string | readonly string[] | undefined];

// Writes the fields in the order given, skipping absent ones; arrays hold already-serialized objects.
const object = (fields: Field[]): string =>
  `{${fields
    .filter((f): f is [string, string | readonly string[]] => f[1] !== undefined)
    .filter(([, v]) => typeof v === "string" || v.length > 0)
    .map(([k, v]) => `${JSON.stringify(k)}:${typeof v === "string" ? JSON.stringify(v) : `[${v.join(",")}]`}`)
    .join(",")}}`;

export const serializeAddress = (a: Address, iface?: string): string =>
  object([
    ["name", a.name],
    ["family", a.family],
    ["ip-addr", a["ip-addr"]],
    ["ports", a.ports],
    ["protocol", a.protocol],
    ["iface", a.iface ?? iface],
    ["ether-addr", a["ether-addr"]],
  ]);

/**
 * A backend as a plan may send it: only `name` is required. `newname` renames the backend
 * (kube-nftlb reuses the entry of a backend that went for one that came: see plan-backends.ts).
 */
export type BackendPatch = Pick<Backend, "name"> & Partial<Omit<Backend, "name">> & { newname?: string };

export const serializeBackend = (b: BackendPatch): string =>
  object([
    ["name", b.name],
    ["newname", b.newname],
    ["ip-addr", b["ip-addr"]],
    ["port", b.port],
    ["weight", b.weight],
    ["priority", b.priority],
    // After name (nftlb applies keys to the current object) and before state: a mark change on
    // a backend that is up makes nftlb rewrite the farm's rules there and then.
    ["mark", b.mark],
    // nftlb 1.0.7's default backend state is config_error: always say "up" unless told otherwise.
    ["state", b.state ?? "up"],
  ]);

/** A farm as a plan may send it: only `name` is required, absent fields are left as nftlb has them. */
export type FarmPatch = Pick<Farm, "name"> &
  Partial<Omit<Farm, "name" | "backends">> & { backends?: BackendPatch[] };

export const serializeFarm = (f: FarmPatch): string =>
  object([
    ["name", f.name],
    // Before anything that makes nftlb write the farm's rules, so they are written with it.
    ["mark", f.mark],
    ["scheduler", f.scheduler],
    ["sched-param", f["sched-param"]],
    ["persistence", f.persistence],
    ["persist-ttl", f["persist-ttl"]],
    ["log", f.log],
    ["log-prefix", f["log-prefix"]],
    ["tcp-strict-log-prefix", f["tcp-strict-log-prefix"]],
    ["intra-connect", f["intra-connect"]],
    ["addresses", f.addresses?.map((a) => serializeAddress(a, f.iface))],
    ["helper", f.helper],
    ["backends", f.backends?.map(serializeBackend)],
    // mode after the backends: for dsr/stlsdnat nftlb resolves the output interface and its MAC
    // from the route to the first backend when the mode is set, and gives up ("no backend yet")
    // when there is none — the farm then stays in config_error, even if oface is sent later.
    ["mode", f.mode],
    ["oface", f.oface],
  ]);

export const serializeFarms = (farms: readonly FarmPatch[]): string =>
  `{"farms":[${farms.map(serializeFarm).join(",")}]}`;
