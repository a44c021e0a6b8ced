// nftlb 1.0.7's objects as the REST API speaks them: every value a string, `name` first.
// Only the fields kube-nftlb programs are modelled; GET answers carry more, which callers ignore.

export type Family = "ipv4" | "ipv6";
export type NftlbProtocol = "tcp" | "udp" | "sctp";
export type NftlbMode = "snat" | "dnat" | "dsr" | "stlsdnat";

export interface Backend {
  name: string;
  "ip-addr": string;
  /** "" keeps the client's destination port. */
  port: string;
  weight?: string;
  priority?: string;
  /** Always sent: nftlb 1.0.7's default backend state is config_error. */
  state: "up" | "down" | "off";
}

/** A virtual address of a farm (one element of the farm's `addresses`). */
export interface Address {
  name: string;
  family: Family;
  "ip-addr": string;
  /** "80" or "80,443" — one port per address in kube-nftlb's use. */
  ports: string;
  protocol: NftlbProtocol;
}

export interface Farm {
  name: string;
  family: Family;
  mode: NftlbMode;
  protocol: NftlbProtocol;
  scheduler: "rr" | "symhash" | "hash";
  "sched-param": string;
  persistence: string;
  "persist-ttl": string;
  helper: string;
  log: string;
  "log-prefix"?: string;
  /** dsr/stlsdnat only: the interface client traffic arrives on, and the one toward backends. */
  iface?: string;
  oface?: string;
  /** Farm-level state as GET reports it (up, down, off, config_error). */
  state?: string;
  addresses: Address[];
  backends: Backend[];
}
