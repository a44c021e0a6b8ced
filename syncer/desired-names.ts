// Names of farms, addresses and backends, and why they look the way they do.
//
// Measured on nftlb 1.0.7 (and read in its source):
// - A farm's name is used verbatim in nft chain and map names (`filter-NAME`, `nat-NAME`,
//   `persist-NAME`): it must stay within nft's identifier characters `[A-Za-z0-9_./-]`.
//   Dotted names work.
// - nftlb reads the request URI with `%199[^ ]`: a longer URI is cut, so
//   `DELETE /farms/F/backends/B` addresses the wrong (unknown) backend once
//   7 + |F| + 10 + |B| > 199. Hence the caps below: a farm ≤ 100 characters, a backend ≤ 80,
//   an address ≤ 56 (its longest possible name): 197 and 174 characters at most.
// - Address objects are global in nftlb and shared by name: two farms naming the same address
//   share one object. Naming an address after its (protocol, IP, port) makes that the very
//   case of two farms claiming one VIP:port — which desired-conflicts.ts and plan.ts prevent. A
//   name proves nothing about who made a farm: ownership is a mark (ownership.ts).
//
// Kubernetes names never contain "_" (DNS labels and subdomains), nor do sanitised addresses,
// so "_" marks every name we had to change: a changed name never equals an unchanged one.
import { createHash } from "node:crypto";
import type { Family, NftlbProtocol } from "../nftlb/types.ts";

export const MAX_FARM_NAME = 100;
export const MAX_BACKEND_NAME = 80;

/** Suffix of the farm holding the external addresses when the traffic policies differ. */
export const EXTERNAL_SUFFIX = ".ext";
/** Suffix of the IPv6 farm of a Service port (nftlb farms are single-family). */
export const IPV6_SUFFIX = ".v6";

/**
 * `<namespace>.<service>.<port>[.ext][.v6]`, where `<port>` is the port's name or, unnamed, its
 * number. Namespace, Service and port names contain no dots, so the parts are unambiguous.
 */
export function farmName(
  namespace: string,
  service: string,
  port: string,
  external: boolean,
  family: Family,
): string {
  const name = `${namespace}.${service}.${port}${external ? EXTERNAL_SUFFIX : ""}${family === "ipv6" ? IPV6_SUFFIX : ""}`;
  return fit(sanitize(name), MAX_FARM_NAME);
}

/** `<protocol>-<ip>-<port>`, e.g. `tcp-10.96.0.10-80`, `tcp-fd00--10-80`: one name per VIP:port. */
export function addressName(protocol: NftlbProtocol, address: string, port: number): string {
  return `${protocol}-${sanitizeAddress(address)}-${port}`;
}

/**
 * Backend names for one farm's endpoints, in the same order: the Pod's name, else the address
 * (`:` becomes `-`). Names that would repeat within the farm get `_<address>` appended, and
 * where that still repeats (one address on two ports) `_<address>-<port>` — address and port are
 * unique within a farm, so the result is too. Long names are shortened by fit().
 */
export function backendNames(
  endpoints: readonly { address: string; port?: number; podName?: string }[],
): string[] {
  const base = endpoints.map((e) =>
    e.podName === undefined ? sanitizeAddress(e.address) : sanitize(e.podName),
  );
  const count = new Map<string, number>();
  for (const n of base) count.set(n, (count.get(n) ?? 0) + 1);
  const withAddress = base.map((n, i) =>
    count.get(n) === 1 ? n : `${n}_${sanitizeAddress(endpoints[i]!.address)}`,
  );
  const again = new Map<string, number>();
  for (const n of withAddress) again.set(n, (again.get(n) ?? 0) + 1);
  return withAddress.map((n, i) => {
    const port = endpoints[i]!.port;
    return fit(again.get(n) === 1 || port === undefined ? n : `${n}-${port}`, MAX_BACKEND_NAME);
  });
}

/** IPv6's `:` is no nft identifier character and reads badly in URLs; canonical IPv6 has no `-`. */
export const sanitizeAddress = (address: string): string => address.replaceAll(":", "-");

/** Anything outside `[A-Za-z0-9.-]` becomes `-` ("_" is reserved, see above). */
const sanitize = (name: string): string => name.replace(/[^A-Za-z0-9.-]/g, "-");

/** A name over `max` characters keeps its start, then `_` and 10 hex digits of its SHA-256. */
export function fit(name: string, max: number): string {
  if (name.length <= max) return name;
  const hash = createHash("sha256").update(name).digest("hex").slice(0, 10);
  return `${name.slice(0, max - 11)}_${hash}`;
}
