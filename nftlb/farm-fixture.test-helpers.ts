// A farm as nftlb 1.0.7 reports it with every setting at kube-nftlb's defaults (snat, rr, no
// persistence, helper or log), for the nftlb room's tests; `extra` overrides any field.
import type { Address, Backend, Farm } from "./types.ts";

export const defaultFarm = (
  name: string,
  addresses: Address[],
  backends: Backend[] = [],
  extra: Partial<Farm> = {},
): Farm => ({
  name,
  family: "ipv4",
  mode: "snat",
  protocol: "tcp",
  scheduler: "rr",
  "sched-param": "none",
  persistence: "none",
  "persist-ttl": "60",
  helper: "none",
  log: "none",
  addresses,
  backends,
  ...extra,
});
