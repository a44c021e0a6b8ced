// `kube-nftlb render`: the farms one node would get for some manifests, as the exact body that
// would be POSTed to an empty nftlb. Offline: no cluster, no nftlb.
import { buffer } from "node:stream/consumers";
import { emit, parseFlags, usageError } from "../flags/flags.ts";
import { loadPaths, UsageError, type ManifestObject } from "../manifests/load.ts";
import { parseService } from "../annotations/index.ts";
// Straight from the files, not nftlb/index.ts: render needs no HTTP client.
import { serializeFarms } from "../nftlb/serialize.ts";
import { validateFarms } from "../nftlb/validate.ts";
import {
  desired,
  desiredFromEndpoints,
  type DesiredOptions,
  type DesiredService,
  type NodeInfo,
  type Problem,
} from "../syncer/desired.ts";
import { resolveConflicts } from "../syncer/desired-conflicts.ts";
import { whyNoFarm } from "../syncer/no-farm.ts";
import { lineOfKey } from "../manifests/lint.ts";
import { withPlaceholderClusterIps } from "../manifests/placeholder-ips.ts";
import { parseIp } from "../nftlb/ip.ts";
import { ifaceMac, normaliseMac, readSysMac, validIface } from "../syncer/config.ts";

const HELP = `Usage: kube-nftlb render --node-name NAME --node-ip IP[,IP] [flags] PATH...

Prints the nftlb farms that node NAME would get for the Services in the manifests, with their
backends from the EndpointSlices (or v1 Endpoints) in the same manifests: exactly the JSON body
{"farms": [...]} that the syncer would POST to an empty nftlb on that node.
PATH is a file, a directory (searched recursively for *.yaml, *.yml, *.json) or - for stdin.

Invalid kube-nftlb annotations render with the defaults; the problems go to stderr, as do
addresses two Services claim (the older Service keeps them), and for each Service that gives no
farm, why (headless, ExternalName, another proxy's, no ports, no clusterIP yet, ...); when
there is no Service at all (empty input, other kinds only), that too. The JSON is
indented when stdout is a terminal, one line otherwise.

Exit status: 0 farms printed (warnings and annotation errors on stderr allowed), 1 a manifest
could not be parsed (nothing printed), 2 usage error or unreadable path.

Flags:
      --node-name NAME          the node (traffic policy Local keeps endpoints on this node)
      --node-ip IP[,IP]         the node's addresses (NodePorts listen on each; IPv4 and/or IPv6)
      --endpoints-api API       slices (default: EndpointSlices) or endpoints (v1 Endpoints)
      --iface IFACE             dsr: the interface client traffic arrives on (with --oface)
      --oface IFACE             dsr: the interface toward the Pods (with --iface)
      --iface-mac MAC           dsr: the MAC of --iface on that node; when absent it is read
                                from /sys/class/net/IFACE/address here (render run on the node)
                                Without --iface/--oface, Services annotated dsr render in snat.
      --placeholder-cluster-ips give Services that have no clusterIP yet (manifests not applied)
                                placeholder addresses, for a preview: IPv4 from 192.0.2.0/24
                                (then 198.51.100.0/24, 203.0.113.0/24), IPv6 from 2001:db8::/32,
                                documentation ranges no cluster uses; each is said on stderr
  -h, --help                    show this help
      --version                 print kube-nftlb's version`;

const FLAGS = {
  command: "kube-nftlb render",
  help: HELP,
  positionals: true,
  options: {
    "node-name": { type: "string" },
    "node-ip": { type: "string" },
    "endpoints-api": { type: "string", default: "slices" },
    iface: { type: "string" },
    oface: { type: "string" },
    "iface-mac": { type: "string" },
    "placeholder-cluster-ips": { type: "boolean", default: false },
  },
} as const;

/** Where render writes and reads; the command passes the process's streams, tests their own. */
export interface RenderIo {
  out: (line: string) => void;
  err: (line: string) => void;
  stdin: () => Promise<Buffer>;
  /** The contents of /sys/class/net/<iface>/address on this machine (tests pass their own). */
  readMac?: (iface: string) => string;
  /** stdout is a terminal: a person reads the JSON, so it is indented. */
  isTTY?: boolean;
}

const processIo: RenderIo = {
  out: (line) => console.log(line),
  err: (line) => console.error(line),
  stdin: () => buffer(process.stdin),
  isTTY: process.stdout.isTTY,
};

type Parsed =
  | {
      ok: true;
      node: NodeInfo;
      api: "slices" | "endpoints";
      dsr: DesiredOptions;
      placeholders: boolean;
      paths: string[];
    }
  | { ok: false; code: number };

function parse(argv: string[], io: RenderIo): Parsed {
  const usage = (message: string): Parsed => ({ ok: false, code: emit(usageError(FLAGS, message), io) });
  const parsed = parseFlags(FLAGS, argv);
  if (!parsed.ok) return { ok: false, code: emit(parsed.exit, io) };
  const { values, positionals } = parsed;
  const name = values["node-name"];
  if (name === undefined || name === "") return usage("--node-name is required");
  if (values["node-ip"] === undefined) return usage("--node-ip is required");
  const addresses = values["node-ip"].split(",").map((s) => s.trim());
  const bad = addresses.filter((a) => parseIp(a) === undefined);
  if (bad.length > 0)
    return usage(`--node-ip: not an IP address: ${bad.map((b) => JSON.stringify(b)).join(", ")}`);
  const api = values["endpoints-api"];
  if (api !== "slices" && api !== "endpoints")
    return usage(`--endpoints-api must be "slices" or "endpoints", got "${api}"`);
  const dsr = dsrNode(values.iface, values.oface, values["iface-mac"], io.readMac ?? readSysMac);
  if (typeof dsr === "string") return usage(dsr);
  if (positionals.length === 0) return usage("no PATH given");
  const placeholders = values["placeholder-cluster-ips"];
  return { ok: true, node: { name, addresses }, api, dsr, placeholders, paths: positionals };
}

/**
 * The node's side of dsr farms, or a usage error. The MAC given wins: render usually runs away
 * from the node. Otherwise it is read here, which is right only when render runs on that node.
 */
function dsrNode(
  iface: string | undefined,
  oface: string | undefined,
  mac: string | undefined,
  readMac: (iface: string) => string,
): DesiredOptions | string {
  if (iface === undefined && oface === undefined) {
    return mac === undefined ? {} : "--iface-mac needs --iface and --oface";
  }
  if (!iface || !oface) return "--iface and --oface go together: dsr farms need both interfaces";
  if (!validIface(iface)) return `--iface: not an interface name: ${JSON.stringify(iface)}`;
  if (!validIface(oface)) return `--oface: not an interface name: ${JSON.stringify(oface)}`;
  if (mac !== undefined) {
    const given = normaliseMac(mac);
    if (given === undefined) return `--iface-mac: not a MAC like 52:54:00:12:34:56: ${JSON.stringify(mac)}`;
    return { iface, ifaceMac: given, oface };
  }
  const local = ifaceMac(iface, readMac);
  if (!local.ok) return `--iface: ${local.error}; give the node's MAC with --iface-mac`;
  return { iface, ifaceMac: local.mac, oface };
}

export const run = (argv: string[]): Promise<number> => render(argv, processIo);

export async function render(argv: string[], io: RenderIo): Promise<number> {
  const args = parse(argv, io);
  if (!args.ok) return args.code;

  let loaded;
  try {
    loaded = await loadPaths(args.paths, io.stdin);
  } catch (err) {
    if (err instanceof UsageError) {
      io.err(`kube-nftlb render: ${err.message}`);
      return 2;
    }
    throw err;
  }
  for (const u of loaded.unreadable) io.err(`${u.source}: error: ${u.message}`);
  if (loaded.unreadable.length > 0) return 2;
  const { objects, placed } = args.placeholders
    ? withPlaceholderClusterIps(loaded.objects)
    : { objects: loaded.objects, placed: [] };
  const errors = loaded.problems.map((p) => `${where(p)}: error: ${p.message}`);
  const services = objects.filter((o) => o.object.kind === "Service");
  for (const s of services) {
    const parsed = parseService(s.object);
    if (!parsed.ok) errors.push(`${where(s)}: error: ${parsed.error}`);
  }
  if (errors.length > 0) {
    for (const e of errors) io.err(e);
    io.err("nothing rendered: fix the manifests above first");
    return 1;
  }

  const ofKind = (kind: string) => objects.filter((o) => o.object.kind === kind).map((o) => o.object);
  const slices = ofKind("EndpointSlice");
  const endpoints = ofKind("Endpoints");
  if (args.api === "slices" && slices.length === 0 && endpoints.length > 0) {
    io.err(
      `note: no EndpointSlices but ${endpoints.length} Endpoints object(s): use --endpoints-api endpoints to read them`,
    );
  }
  for (const { object, ips } of placed)
    io.err(
      `${where(object)}: note: Service ${ref(object)}: placeholder clusterIP${ips.length > 1 ? "s" : ""} ${ips.join(", ")} (--placeholder-cluster-ips)`,
    );
  if (services.length === 0) io.err(noService(objects, args.paths));
  const options = args.dsr;
  const results: DesiredService[] = [];
  for (const s of services) {
    const r =
      args.api === "slices"
        ? desired(s.object, slices, args.node, options)
        : desiredFromEndpoints(s.object, endpoints, args.node, options);
    results.push(r);
    for (const p of r.problems) io.err(formatProblem(s, r, p));
    const why = whyNoFarm(s.object, r);
    if (why !== undefined) io.err(`${where(s)}: note: Service ${ref(s)} gives no farm: ${why}${hint(why)}`);
  }
  const { farms, conflicts } = resolveConflicts(results);
  for (const c of conflicts) io.err(`error: ${c.message}`);
  // The client's own pre-send check: anything it would refuse is said here too.
  for (const p of validateFarms(farms, new Map())) io.err(`error: nftlb client would refuse: ${p}`);
  const body = serializeFarms(farms);
  io.out(io.isTTY === true ? JSON.stringify(JSON.parse(body), null, 2) : body);
  return 0;
}

const where = (o: { source: string; line?: number }): string =>
  o.line === undefined ? o.source : `${o.source}:${o.line}`;

const ref = (o: ManifestObject): string => {
  const meta = (o.object.metadata ?? {}) as { namespace?: unknown; name?: unknown };
  const namespace = typeof meta.namespace === "string" && meta.namespace !== "" ? meta.namespace : "default";
  return `${namespace}/${typeof meta.name === "string" ? meta.name : ""}`;
};

/** Why the farms are empty when no Service was read at all (else each Service says its reason). */
function noService(objects: ManifestObject[], paths: readonly string[]): string {
  if (objects.length === 0) {
    const inputs = paths.map((p) => (p === "-" ? "stdin" : p)).join(", ");
    return `note: no farm: ${inputs} held no Kubernetes object (empty, or only comments)`;
  }
  const kinds = [...new Set(objects.map((o) => String(o.object.kind)))].sort().join(", ");
  return `note: no farm: no Service among the ${objects.length} object(s) read (${kinds})`;
}

const hint = (why: string): string =>
  why.startsWith("it has no clusterIP yet") ? "; preview it with --placeholder-cluster-ips" : "";

/** At the annotation's or field's own line, as lint cites it. */
function formatProblem(o: ManifestObject, r: DesiredService, p: Problem): string {
  const key = p.key === "" ? "" : `${p.key}: `;
  const at = where({ source: o.source, line: lineOfKey(o, p.key) });
  return `${at}: ${p.severity}: Service ${r.service.namespace}/${r.service.name}: ${key}${p.message}`;
}
