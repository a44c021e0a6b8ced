// IP addresses as nftlb's farms need them: the family, and one canonical spelling, so that the same
// address written two ways is deduplicated and named once. Anything else is not an address:
// nftlb passes a bad one to nft, which refuses it and makes nftlb rebuild its whole table.
import { isIPv4, isIPv6 } from "node:net";
import type { Family } from "./types.ts";

export interface Ip {
  family: Family;
  /** IPv4 dotted quad as given; IPv6 in the compressed lower-case form (RFC 5952 style). */
  address: string;
}

export function parseIp(value: unknown): Ip | undefined {
  if (typeof value !== "string") return undefined;
  // isIPv4 refuses leading zeros ("010.0.0.1"), which some tools would read as octal.
  if (isIPv4(value)) return { family: "ipv4", address: value };
  // Zone ids ("fe80::1%eth0") are not service addresses.
  if (!isIPv6(value) || value.includes("%")) return undefined;
  try {
    // The WHATWG URL parser compresses IPv6 to its canonical text form.
    return { family: "ipv6", address: new URL(`http://[${value}]/`).hostname.slice(1, -1) };
  } catch {
    return undefined;
  }
}
