// nftlb 1.0.7's objects as the REST API speaks them: every value a string, `name` first.
// Only the fields kube-nftlb programs are modelled; GET answers carry more, which callers ignore.

export type Family = "ipv4" | "ipv6";
export type NftlbProtocol = "tcp" | "udp" | "sctp";
export type NftlbMode = "snat" | "dnat" | "dsr" | "stlsdnat";

/** The states kube-nftlb sets on a backend; nftlb 1.0.7 takes no other (docs/nftlb.md). */
export const BACKEND_SETTINGS = ["up", "down", "off"] as const;
export type BackendSetting = (typeof BACKEND_SETTINGS)[number];
/**
 * A backend's state as GET reports it: a setting, or nftlb's verdict on a backend set up —
 * `config_error` (unusable: no address, no MAC in dsr…) or `available` (standby behind a lower
 * priority).
 */
export type BackendState = BackendSetting | "config_error" | "available";

export interface Backend {
  name: string;
  "ip-addr": string;
  /** "" keeps the client's destination port. */
  port: string;
  weight?: string;
  priority?: string;
  /**
   * The connection mark, hex ("0x002"). kube-nftlb assigns it (unique within the farm, from
   * 0x002, never 0x001): when nftlb picks, it scans every backend of every farm for a free mark in
   * one node-wide pool of 4,095 (docs/nftlb.md). Out of 0x001-0xFFF nftlb silently ignores it.
   */
  mark?: string;
  /**
   * Always sent, and only a BackendSetting (nftlb/validate.ts refuses the rest): nftlb 1.0.7's
   * default backend state is config_error. A Backend read back from GET may hold any BackendState.
   */
  state: BackendState;
}

/** A virtual address of a farm (one element of the farm's `addresses`). */
/** An address object as GET /addresses lists it: `used` is the number of farms sharing it. */
export type ListedAddress = Address & { used: number };

export interface Address {
  name: string;
  family: Family;
  "ip-addr": string;
  /** "80" or "80,443" — one port per address in kube-nftlb's use. */
  ports: string;
  protocol: NftlbProtocol;
  /**
   * dsr/stlsdnat only: the interface client traffic arrives on and its MAC. nftlb 1.0.7 looks
   * for a local interface holding the VIP; a ClusterIP is on none, so both must be given here
   * (a farm-level `iface` would create an empty default address that nft refuses).
   */
  iface?: string;
  "ether-addr"?: string;
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
  /**
   * Prefix of the log lines of `tcp-strict` drops. nftlb 1.0.7 stores and lists it verbatim and
   * writes it into a rule only while `tcp-strict` is on, which kube-nftlb never sets: kube-nftlb
   * writes its ownership mark here (syncer/ownership.ts). GET lists it only when not the default.
   */
  "tcp-strict-log-prefix"?: string;
  /**
   * "on": nftlb also balances traffic that starts on the node itself (its output hook: hostNetwork
   * Pods, the kubelet, kube-apiserver calling webhooks by ClusterIP). nftlb's default is "off",
   * and GET lists the field only when it is on.
   */
  "intra-connect"?: "on" | "off";
  /**
   * dsr/stlsdnat only. `iface`: never sent at farm level (it would create a broken default
   * address); serialize copies it into addresses that have none — kube-nftlb's farms carry it on
   * each address instead. `oface`: the interface toward backends (nftlb replaces it by the route
   * to the first backend). GET shows neither.
   */
  iface?: string;
  oface?: string;
  /**
   * The farm mark, hex ("0x3000"), ORed into every backend mark of the farm: it makes the marks
   * of farms sharing backend marks distinct node-wide, which nftlb's global mark maps need
   * (`log: forward`, source-addr). Only set in a farm's first POST: setting it on a live farm
   * costs an nft error and a full rebuild (measured, docs/nftlb.md).
   */
  mark?: string;
  /** Farm-level state as GET reports it (up, down, off, config_error). */
  state?: string;
  addresses: Address[];
  backends: Backend[];
}

/**
 * How a caller should react to a failed nftlb call:
 * - terminal: nftlb (or the client, before sending) refused this input; retrying the same input fails again.
 * - retryable: the network, a timeout or a 5xx that is not a known parse failure; back off and retry.
 * - fatal: nftlb refused the key (401); nothing works until the configuration changes.
 */
export type NftlbErrorKind = "terminal" | "retryable" | "fatal";

export interface NftlbError {
  kind: NftlbErrorKind;
  /** The client operation that failed, e.g. "upsertFarms". */
  operation: string;
  /** HTTP status when nftlb answered; absent for network errors and pre-send validation. */
  status?: number;
  /** Never contains the key. */
  message: string;
  /**
   * No answer in time: nftlb may still be working on the request (it is single-threaded and
   * finishes what it read), so a write that timed out may well be applied.
   */
  timedOut?: true;
}

export type NftlbResult<T> = { ok: true; value: T } | { ok: false; error: NftlbError };
