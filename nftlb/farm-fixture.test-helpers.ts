// A farm as nftlb 1.0.7 reports it with every setting at kube-nftlb's defaults (snat, rr, no
// persistence, helper or log), for the nftlb room's tests; `extra` overrides any field.
import type { Address, Backend, Farm } from "./types.ts";

export const defaultFarm = (
  name: string,
  addresses: Address[],
  backends: Backend[] = [],
  extra: Partial<Farm> = {},
): Farm =>
  ({
    name,
    ...Object.fromEntries(SETTINGS.map((k) => [k, LISTED_FARM[k]])),
    addresses,
    backends,
    ...extra,
  }) as Farm;

// The settings kube-nftlb writes, at its defaults (nftlb's own, as listed below).
const SETTINGS = [
  "family",
  "mode",
  "protocol",
  "scheduler",
  "sched-param",
  "persistence",
  "persist-ttl",
  "helper",
  "log",
];

// nftlb 1.0.7's farm fields in the order GET /farms lists them, with the defaults it lists
// (checked against the daemon); addresses, backends and policies follow them.
const LISTED_FARM: Record<string, string> = {
  family: "ipv4",
  "virtual-addr": "",
  "virtual-ports": "",
  "source-addr": "",
  mode: "snat",
  protocol: "tcp",
  scheduler: "rr",
  "sched-param": "none",
  persistence: "none",
  "persist-ttl": "60",
  helper: "none",
  log: "none",
  "log-rtlimit": "0/second",
  mark: "0x0",
  priority: "1",
  state: "up",
  "limits-ttl": "120",
  "new-rtlimit": "0/second",
  "new-rtlimit-burst": "0",
  "rst-rtlimit": "0/second",
  "rst-rtlimit-burst": "0",
  "est-connlimit": "0",
  "tcp-strict": "off",
  queue: "-1",
  verdict: "log drop accept",
  "intra-connect": "off",
};
const LISTED_BACKEND = { weight: "1", priority: "1", mark: "0x0", "est-connlimit": "0", state: "up" };
// nftlb prints marks without leading zeros ("0x002" is listed as "0x2").
const hex = (v: unknown) =>
  typeof v === "string" && /^0x[0-9a-f]+$/i.test(v) ? `0x${parseInt(v, 16).toString(16)}` : v;

type Named = Record<string, unknown> & { name: string };
/**
 * A farm as nftlb lists it in GET /farms: every field in nftlb's order with its default where
 * not given, the virtual address from the first address, marks as nftlb prints them; `used`: how
 * many farms use an address object. Pretty-print the answer with an 8-space indent, as nftlb does.
 */
export const listedByNftlb = (farm: { name: string }, used: (address: string) => number) => {
  const f = farm as Named & { addresses?: Named[]; backends?: Named[]; policies?: unknown[] };
  const { name, addresses = [], backends = [], policies = [], ...given } = f;
  const first = addresses[0];
  return {
    name,
    ...LISTED_FARM,
    ...(first
      ? { family: first.family, "virtual-addr": first["ip-addr"], "virtual-ports": first.ports }
      : {}),
    ...given,
    mark: hex(given.mark ?? LISTED_FARM.mark),
    addresses: addresses.map((a) => ({ ...a, used: String(used(a.name)) })),
    backends: backends.map((b) => {
      const { name: bname, "ip-addr": ip, port, ...rest } = b;
      return {
        name: bname,
        "ip-addr": ip,
        port,
        ...LISTED_BACKEND,
        ...rest,
        mark: hex(rest.mark ?? LISTED_BACKEND.mark),
      };
    }),
    policies,
  };
};
