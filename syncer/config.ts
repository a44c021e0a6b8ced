// The syncer's flags → a checked configuration, or one clear error. Pure but for reading the
// key file; the key never appears in an error message.
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import type { EndpointsApi } from "../kube/sources.ts";
import type { ProxyMode } from "../annotations/index.ts";

export interface SyncerConfig {
  nftlbUrl: string;
  nftlbKey: string;
  nodeName: string;
  kubeconfig?: string;
  probePort: number;
  endpointsApi: EndpointsApi;
  proxyMode: ProxyMode;
  resyncMs: number;
  /** How often nftlb is probed for a restart. */
  nftlbProbeMs: number;
  nftlbTimeoutMs: number;
  iface?: string;
  oface?: string;
  logLevel: string;
}

export const HELP = `Usage: kube-nftlb syncer --nftlb-url URL --nftlb-key-file FILE --node-name NAME [flags]

Runs beside nftlb on a node and keeps nftlb's farms equal to the cluster's Services and
EndpointSlices: one farm per Service port, named <namespace>.<service>.<port>. Waits for nftlb
and for every cache to sync before writing; batches changes into one POST; deletes farms of
Services deleted while it was down (only farms named like its own); notices an nftlb restart and
re-programs everything. Problems reach the Service as Warning Events.

Probes and metrics on a plain-HTTP port: /healthz, /readyz (caches synced and nftlb programmed
once), /metrics. JSON logs on stdout, the nftlb key redacted. On SIGTERM: stops watching,
finishes the write in flight, leaves nftlb's rules in place, exits 0.

Flags:
  --nftlb-url URL           nftlb's REST API, e.g. http://127.0.0.1:5555
  --nftlb-key-file FILE     file holding nftlb's key (a mounted Secret)
  --node-name NAME          this node's name (downward API spec.nodeName): its addresses serve
                            NodePorts, and Local traffic policies select its endpoints
  --kubeconfig FILE         kubeconfig; in-cluster service account when absent
  --probe-port N            port of /healthz /readyz /metrics (default 8081; 0 = any)
  --endpoints-api API       slices (default) or endpoints (v1 Endpoints, deprecated in 1.33)
  --proxy-mode MODE         replace (default): every Service not labelled for another proxy;
                            alongside: only Services labelled
                            service.kubernetes.io/service-proxy-name=kube-nftlb
  --resync-period DURATION  full relist and reconcile period, e.g. 5m (default), 30s, 1h
  --nftlb-probe-period DUR  how often nftlb is checked for a restart (default 5s)
  --iface NAME, --oface NAME  interfaces for dsr/stlsdnat farms (client side, backend side)
  --log-level LEVEL         trace, debug, info (default), warn, error
  -h, --help                show this help

Exit status: 0 after a clean shutdown, 1 if it could not start, 2 usage error.`;

export type Parsed = { ok: true; config: SyncerConfig } | { ok: false; error: string } | { ok: "help" };

/** "5m", "30s", "1h", "250ms", or plain seconds. */
export function parseDuration(raw: string): number | undefined {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(raw.trim());
  if (!m) return undefined;
  const n = Number(m[1]);
  const unit = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000 }[(m[2] ?? "s") as "ms" | "s" | "m" | "h"];
  const ms = Math.round(n * unit);
  return ms > 0 && ms <= 86_400_000 ? ms : undefined;
}

export function parseSyncerArgs(argv: string[], readKey = (f: string) => readFileSync(f, "utf8")): Parsed {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        "nftlb-url": { type: "string" },
        "nftlb-key-file": { type: "string" },
        "node-name": { type: "string" },
        kubeconfig: { type: "string" },
        "probe-port": { type: "string", default: "8081" },
        "endpoints-api": { type: "string", default: "slices" },
        "proxy-mode": { type: "string", default: "replace" },
        "resync-period": { type: "string", default: "5m" },
        "nftlb-probe-period": { type: "string", default: "5s" },
        iface: { type: "string" },
        oface: { type: "string" },
        "log-level": { type: "string", default: "info" },
        help: { type: "boolean", short: "h" },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (err) {
    return { ok: false, error: (err as Error).message };
  }
  if (values.help) return { ok: "help" };
  const url = values["nftlb-url"];
  if (!url) return { ok: false, error: "--nftlb-url is required" };
  let parsedUrl: URL;
  try {
    parsedUrl = new URL(url);
  } catch {
    return { ok: false, error: `--nftlb-url is not a URL: "${url}"` };
  }
  if (parsedUrl.protocol !== "http:")
    return { ok: false, error: `--nftlb-url must be http:// (nftlb speaks plain HTTP), got "${url}"` };
  const keyFile = values["nftlb-key-file"];
  if (!keyFile) return { ok: false, error: "--nftlb-key-file is required" };
  let key: string;
  try {
    key = readKey(keyFile).trim();
  } catch (err) {
    return {
      ok: false,
      error: `cannot read --nftlb-key-file ${keyFile}: ${(err as NodeJS.ErrnoException).code ?? "error"}`,
    };
  }
  if (key === "") return { ok: false, error: `--nftlb-key-file ${keyFile} is empty` };
  if (/[\r\n]/.test(key)) return { ok: false, error: `--nftlb-key-file ${keyFile} holds more than one line` };
  const nodeName = values["node-name"];
  if (!nodeName) return { ok: false, error: "--node-name is required (the downward API's spec.nodeName)" };
  const probe = values["probe-port"];
  if (!/^\d+$/.test(probe) || Number(probe) > 65535)
    return { ok: false, error: `--probe-port must be a port number from 0 to 65535, got "${probe}"` };
  const api = values["endpoints-api"];
  if (api !== "slices" && api !== "endpoints")
    return { ok: false, error: `--endpoints-api must be slices or endpoints, got "${api}"` };
  const mode = values["proxy-mode"];
  if (mode !== "replace" && mode !== "alongside")
    return { ok: false, error: `--proxy-mode must be replace or alongside, got "${mode}"` };
  const resyncMs = parseDuration(values["resync-period"]);
  if (resyncMs === undefined)
    return {
      ok: false,
      error: `--resync-period must be a duration like 5m, 30s or 1h, got "${values["resync-period"]}"`,
    };
  const probeMs = parseDuration(values["nftlb-probe-period"]);
  if (probeMs === undefined)
    return {
      ok: false,
      error: `--nftlb-probe-period must be a duration like 5s, got "${values["nftlb-probe-period"]}"`,
    };
  if (!["trace", "debug", "info", "warn", "error"].includes(values["log-level"]))
    return {
      ok: false,
      error: `--log-level must be trace, debug, info, warn or error, got "${values["log-level"]}"`,
    };
  const config: SyncerConfig = {
    nftlbUrl: url,
    nftlbKey: key,
    nodeName,
    probePort: Number(probe),
    endpointsApi: api,
    proxyMode: mode,
    resyncMs,
    nftlbProbeMs: probeMs,
    nftlbTimeoutMs: 30_000,
    logLevel: values["log-level"],
  };
  if (values.kubeconfig) config.kubeconfig = values.kubeconfig;
  if (values.iface) config.iface = values.iface;
  if (values.oface) config.oface = values.oface;
  return { ok: true, config };
}
