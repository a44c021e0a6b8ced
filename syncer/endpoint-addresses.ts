// Endpoint addresses that can never be a backend, whatever the API server let through (a
// selector-less Service's slices are written by anyone with the right; older API servers and the
// v1 Endpoints path check less): sending one to nftlb balances a VIP onto the node itself, onto
// a multicast group or nowhere. kube-apiserver refuses the same classes for EndpointSlices.
import { BlockList } from "node:net";
import type { Family } from "../nftlb/types.ts";

const CLASSES: [kind: string, family: Family, net: string, prefix: number][] = [
  ["unspecified", "ipv4", "0.0.0.0", 8],
  ["loopback", "ipv4", "127.0.0.0", 8],
  ["link-local", "ipv4", "169.254.0.0", 16],
  ["multicast", "ipv4", "224.0.0.0", 4],
  ["broadcast", "ipv4", "255.255.255.255", 32],
  ["unspecified", "ipv6", "::", 128],
  ["loopback", "ipv6", "::1", 128],
  ["link-local", "ipv6", "fe80::", 10],
  ["multicast", "ipv6", "ff00::", 8],
];

const LISTS = CLASSES.map(([kind, family, net, prefix]) => {
  const list = new BlockList();
  list.addSubnet(net, prefix, family);
  return { kind, family, list };
});

/** Why an endpoint address is no unicast Pod address ("loopback", …), or undefined when it is one. */
export function notUnicast(address: string, family: Family): string | undefined {
  for (const c of LISTS) if (c.family === family && c.list.check(address, family)) return c.kind;
  return undefined;
}
