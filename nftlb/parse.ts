// nftlb's answers → our types. GET answers carry more keys than we model (kept loose, ignored),
// and nftlb pads some values with a trailing space ("srcip "), so every string is trimmed.
import { z } from "zod";
import type { Address, Backend, BackendState, Farm } from "./types.ts";

const str = z.string().transform((s) => s.trim());
const optStr = str.optional();

const AddressJson = z.looseObject({
  name: str,
  family: optStr,
  "ip-addr": optStr,
  ports: optStr,
  protocol: optStr,
});

const BackendJson = z.looseObject({
  name: str,
  "ip-addr": optStr,
  port: optStr,
  weight: optStr,
  priority: optStr,
  mark: optStr,
  state: optStr,
});

const FarmJson = z.looseObject({
  name: str,
  family: optStr,
  mode: optStr,
  protocol: optStr,
  scheduler: optStr,
  "sched-param": optStr,
  persistence: optStr,
  "persist-ttl": optStr,
  helper: optStr,
  log: optStr,
  "log-prefix": optStr,
  mark: optStr,
  "intra-connect": optStr,
  state: optStr,
  addresses: z.array(AddressJson).optional(),
  backends: z.array(BackendJson).optional(),
});

export const FarmsAnswer = z.looseObject({ farms: z.array(FarmJson) });
export const MessageAnswer = z.looseObject({ response: z.string() });

const toAddress = (a: z.infer<typeof AddressJson>): Address => ({
  name: a.name,
  family: a.family === "ipv6" ? "ipv6" : "ipv4",
  "ip-addr": a["ip-addr"] ?? "",
  ports: a.ports ?? "",
  protocol: (a.protocol ?? "tcp") as Address["protocol"],
});

const toBackend = (b: z.infer<typeof BackendJson>): Backend => ({
  name: b.name,
  "ip-addr": b["ip-addr"] ?? "",
  port: b.port ?? "",
  weight: b.weight ?? "1",
  priority: b.priority ?? "1",
  ...(b.mark !== undefined ? { mark: b.mark } : {}),
  // Absent: nftlb 1.0.7's default. nftlb prints only its own states, so the rest pass as they are.
  state: (b.state ?? "config_error") as BackendState,
});

const toFarm = (f: z.infer<typeof FarmJson>): Farm => ({
  name: f.name,
  family: f.family === "ipv6" ? "ipv6" : "ipv4",
  mode: (f.mode ?? "snat") as Farm["mode"],
  protocol: (f.protocol ?? "tcp") as Farm["protocol"],
  scheduler: (f.scheduler ?? "rr") as Farm["scheduler"],
  "sched-param": f["sched-param"] ?? "none",
  persistence: f.persistence ?? "none",
  "persist-ttl": f["persist-ttl"] ?? "60",
  helper: f.helper ?? "none",
  log: f.log ?? "none",
  ...(f["log-prefix"] !== undefined ? { "log-prefix": f["log-prefix"] } : {}),
  ...(f.mark !== undefined ? { mark: f.mark } : {}),
  ...(f["intra-connect"] !== undefined
    ? { "intra-connect": f["intra-connect"] === "on" ? "on" : "off" }
    : {}),
  ...(f.state !== undefined ? { state: f.state } : {}),
  // nftlb lists an empty default address `<farm>-addr` when a farm was created with farm-level
  // shortcuts; it carries no VIP and is not ours.
  addresses: (f.addresses ?? []).filter((a) => (a["ip-addr"] ?? "") !== "").map(toAddress),
  backends: (f.backends ?? []).map(toBackend),
});

export type Parsed<T> = { ok: true; value: T } | { ok: false; message: string };

const json = (body: string): Parsed<unknown> => {
  try {
    return { ok: true, value: JSON.parse(body) as unknown };
  } catch {
    return { ok: false, message: `answer is not JSON (${body.length} bytes)` };
  }
};

export const parseFarms = (body: string): Parsed<Farm[]> => {
  const doc = json(body);
  if (!doc.ok) return doc;
  const farms = FarmsAnswer.safeParse(doc.value);
  if (!farms.success)
    return { ok: false, message: `answer is not a farm list: ${z.prettifyError(farms.error)}` };
  return { ok: true, value: farms.data.farms.map(toFarm) };
};

/** The `response` message of a non-GET answer; nftlb does not escape quotes, so fall back to the raw body. */
export const parseMessage = (body: string): string => {
  const doc = json(body);
  if (doc.ok) {
    const m = MessageAnswer.safeParse(doc.value);
    if (m.success) return m.data.response;
  }
  const raw = /^\{"response": "(.*)"\}\s*$/s.exec(body);
  return (raw?.[1] ?? body).slice(0, 500);
};
