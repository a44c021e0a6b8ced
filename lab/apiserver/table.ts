// Server-side printing: `kubectl get` asks for meta.k8s.io/v1 Tables and prints the server's
// columns. Services, Namespaces, Pods, Endpoints, EndpointSlices, Deployments and ReplicaSets
// (table-apps.ts) get the real printers' columns; other kinds get Name and Age.
import type { IncomingMessage } from "node:http";
import type { Resource } from "./resources.ts";
import { APPS_PRINTERS } from "./table-apps.ts";
import type { Obj } from "./store.ts";

type Any = Record<string, unknown>;
type Column = [name: string, type: string, priority?: number];

export function wantsTable(req: IncomingMessage): boolean {
  const accept = req.headers.accept ?? "";
  const first = accept.split(",")[0] ?? "";
  return /as=Table/.test(first) && /g=meta\.k8s\.io/.test(first);
}

/** duration.HumanDuration, as the real printers show AGE. */
export function humanDuration(ms: number): string {
  const s = Math.floor(ms / 1000);
  if (s < -1) return "<invalid>";
  if (s < 0) return "0s";
  if (s < 120) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 10) return s % 60 === 0 ? `${m}m` : `${m}m${s % 60}s`;
  if (m < 180) return `${m}m`;
  const h = Math.floor(m / 60);
  if (h < 8) return m % 60 === 0 ? `${h}h` : `${h}h${m % 60}m`;
  if (h < 48) return `${h}h`;
  const d = Math.floor(h / 24);
  if (h < 192) return h % 24 === 0 ? `${d}d` : `${d}d${h % 24}h`;
  if (d < 730) return `${d}d`;
  const y = Math.floor(d / 365);
  if (d < 2920) return d % 365 === 0 ? `${y}y` : `${y}y${d % 365}d`;
  return `${y}y`;
}

const age = (o: Obj) =>
  o.metadata.creationTimestamp === undefined
    ? "<unknown>"
    : humanDuration(Date.now() - Date.parse(o.metadata.creationTimestamp));
const arr = (v: unknown): Any[] => (Array.isArray(v) ? (v as Any[]) : []);
const str = (v: unknown): string => (typeof v === "string" || typeof v === "number" ? String(v) : "");

function servicePorts(spec: Any): string {
  const ports = arr(spec.ports).map(
    (p) => `${str(p.port)}${p.nodePort !== undefined ? `:${str(p.nodePort)}` : ""}/${str(p.protocol)}`,
  );
  return ports.length === 0 ? "<none>" : ports.join(",");
}

function externalIp(spec: Any, status: Any): string {
  const ext = (spec.externalIPs as string[] | undefined) ?? [];
  if (spec.type === "ExternalName") return String(spec.externalName);
  if (spec.type === "LoadBalancer") {
    const ingress = arr((status.loadBalancer as Any | undefined)?.ingress).map((i) =>
      String(i.ip ?? i.hostname),
    );
    const all = [...ingress, ...ext];
    return all.length === 0 ? "<pending>" : all.join(",");
  }
  return ext.length === 0 ? "<none>" : ext.join(",");
}

const PRINTERS: Record<string, { columns: Column[]; cells: (o: Obj) => unknown[] }> = {
  Service: {
    columns: [
      ["Name", "string"],
      ["Type", "string"],
      ["Cluster-IP", "string"],
      ["External-IP", "string"],
      ["Port(s)", "string"],
      ["Age", "string"],
      ["Selector", "string", 1],
    ],
    cells: (o) => {
      const spec = (o.spec ?? {}) as Any;
      const sel = Object.entries((spec.selector ?? {}) as Record<string, string>).map(
        ([k, v]) => `${k}=${v}`,
      );
      return [
        o.metadata.name,
        spec.type,
        spec.clusterIP ?? "<none>",
        externalIp(spec, (o.status ?? {}) as Any),
        servicePorts(spec),
        age(o),
        sel.length === 0 ? "<none>" : sel.join(","),
      ];
    },
  },
  Namespace: {
    columns: [
      ["Name", "string"],
      ["Status", "string"],
      ["Age", "string"],
    ],
    cells: (o) => [o.metadata.name, ((o.status ?? {}) as Any).phase ?? "", age(o)],
  },
  Pod: {
    columns: [
      ["Name", "string"],
      ["Ready", "string"],
      ["Status", "string"],
      ["Restarts", "string"],
      ["Age", "string"],
      ["IP", "string", 1],
      ["Node", "string", 1],
    ],
    cells: (o) => {
      const spec = (o.spec ?? {}) as Any;
      const st = (o.status ?? {}) as Any;
      const ready = arr(st.containerStatuses).filter((c) => c.ready === true).length;
      return [
        o.metadata.name,
        `${ready}/${arr(spec.containers).length}`,
        st.phase ?? "",
        "0",
        age(o),
        st.podIP ?? "<none>",
        spec.nodeName ?? "<none>",
      ];
    },
  },
  Endpoints: {
    columns: [
      ["Name", "string"],
      ["Endpoints", "string"],
      ["Age", "string"],
    ],
    cells: (o) => {
      const eps = arr(o.subsets).flatMap((s) =>
        arr(s.addresses).flatMap((a) =>
          arr(s.ports).length === 0
            ? [String(a.ip)]
            : arr(s.ports).map((p) => `${String(a.ip)}:${String(p.port)}`),
        ),
      );
      return [o.metadata.name, eps.length === 0 ? "<none>" : eps.join(","), age(o)];
    },
  },
  EndpointSlice: {
    columns: [
      ["Name", "string"],
      ["AddressType", "string"],
      ["Ports", "string"],
      ["Endpoints", "string"],
      ["Age", "string"],
    ],
    cells: (o) => {
      const ports = arr(o.ports).map((p) => String(p.port));
      const addrs = arr(o.endpoints).flatMap((e) => (e.addresses as string[] | undefined) ?? []);
      return [
        o.metadata.name,
        o.addressType,
        ports.length === 0 ? "<unset>" : ports.join(","),
        addrs.length === 0 ? "<unset>" : addrs.join(","),
        age(o),
      ];
    },
  },
};
for (const [kind, p] of Object.entries(APPS_PRINTERS))
  PRINTERS[kind] = { columns: p.columns, cells: (o) => p.cells(o, age(o)) };
const GENERIC = {
  columns: [
    ["Name", "string"],
    ["Age", "string"],
  ] as Column[],
  cells: (o: Obj) => [o.metadata.name, age(o)],
};

export function toTable(res: Resource, items: Obj[], listMeta: Any, includeObject: string | null): Any {
  const p = PRINTERS[res.kind] ?? GENERIC;
  const columnDefinitions = p.columns.map(([name, type, priority]) => ({
    name,
    type,
    format: name === "Name" ? "name" : "",
    description: name === "Name" ? "Name must be unique within a namespace." : name,
    priority: priority ?? 0,
  }));
  const rows = items.map((o) => {
    let object: unknown;
    if (includeObject === "Object") object = o;
    else if (includeObject !== "None")
      object = { kind: "PartialObjectMetadata", apiVersion: "meta.k8s.io/v1", metadata: o.metadata };
    return object === undefined ? { cells: p.cells(o) } : { cells: p.cells(o), object };
  });
  return { kind: "Table", apiVersion: "meta.k8s.io/v1", metadata: listMeta, columnDefinitions, rows };
}
