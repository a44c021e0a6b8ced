// Where a server's CPU time goes, per request: a V8 CPU profile's self time (`--cpu-prof`)
// sorted into named parts and divided by the requests answered. Native frames without a script
// (JSON.parse, Buffer.byteLength, performance.now) count for the JavaScript that called them,
// except the TLS write of the answer and V8's own work, which are parts of their own.
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string };
  children?: number[];
}
export interface Profile {
  nodes: ProfileNode[];
  /** µs, on the clock of process.hrtime (CLOCK_MONOTONIC), as the samples' times. */
  startTime: number;
  samples: number[];
  timeDeltas: number[];
}

/** A part: its name and whether a frame (function name, script url) belongs to it. */
export interface Part {
  name: string;
  has: (functionName: string, url: string) => boolean;
}

const fromFile =
  (...files: string[]) =>
  (_: string, url: string) =>
    files.some((f) => url.includes(f));

/** The parts of an admission server's time (bench/webhook.ts: the webhook and the floor). */
export const WEBHOOK_PARTS: Part[] = [
  // Native, called by Node's stream code: OpenSSL's encryption and the send syscall.
  {
    name: "TLS write of the answer (writeUtf8String / writev)",
    has: (f) => /^(writeUtf8String|writev|writeBuffer|writeLatin1String)$/.test(f),
  },
  { name: "reading the body and JSON.parse (webhook/body.ts)", has: fromFile("/webhook/body.ts") },
  {
    name: "route, deadline, answer (webhook/app.ts, paths, deadlines, drain)",
    has: fromFile("/webhook/app.ts", "/webhook/paths.ts", "/webhook/deadlines.ts", "/webhook/drain.ts"),
  },
  {
    name: "AdmissionReview parse, answer JSON, patch (webhook/review.ts)",
    has: fromFile("/webhook/review.ts"),
  },
  {
    name: "the contract (annotations/, webhook/validate, mutate, subject)",
    has: fromFile("/annotations/", "/webhook/validate.ts", "/webhook/mutate.ts", "/webhook/subject.ts"),
  },
  {
    name: "metrics (prom-client)",
    has: fromFile("/node_modules/prom-client/", "/node_modules/tdigest/", "/node_modules/bintrees/"),
  },
  { name: "logging (pino)", has: fromFile("/node_modules/pino", "/node_modules/sonic-boom/", "/runtime/") },
  { name: "zod", has: fromFile("/node_modules/zod/") },
  {
    name: "the floor's handler (bench/lib/webhook-servers.ts)",
    has: fromFile("/bench/lib/webhook-servers.ts"),
  },
  { name: "express and its dependencies", has: fromFile("/node_modules/") },
  { name: "Node's HTTP, stream and TLS JavaScript", has: (_, url) => url.startsWith("node:") },
  { name: "garbage collector", has: (f) => f === "(garbage collector)" },
  { name: "(program): V8 and native code outside JavaScript", has: (f) => f === "(program)" },
];

const IDLE = new Set(["(idle)", "(root)"]);

export interface Attribution {
  /** Busy time (idle excluded), ms. */
  busyMs: number;
  /** ms of self time per part, in WEBHOOK_PARTS' order; "other" last. */
  parts: { name: string; ms: number }[];
}

/**
 * Self time by part, counting only samples inside `windows` ([from, to] µs of process.hrtime,
 * e.g. while the load ran against this server), so start-up and the other server's turns are left out.
 */
export function attribute(
  profile: Profile,
  windows: readonly (readonly [number, number])[],
  parts: Part[] = WEBHOOK_PARTS,
): Attribution {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, ProfileNode>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n);
  const ms = new Map<string, number>([...parts.map((p) => [p.name, 0] as const), ["other", 0]]);
  // Each node's part, found once: the node's own, or its nearest caller's when it is native.
  const partOf = new Map<number, string>();
  const find = (n: ProfileNode): string => {
    const known = partOf.get(n.id);
    if (known !== undefined) return known;
    const { functionName, url } = n.callFrame;
    const own = parts.find((p) => p.has(functionName, url))?.name;
    const up = parent.get(n.id);
    const part = own ?? (url === "" && up !== undefined ? find(up) : "other");
    partOf.set(n.id, part);
    return part;
  };
  let busyMs = 0;
  let t = profile.startTime;
  profile.samples.forEach((id, i) => {
    const dtUs = profile.timeDeltas[i] ?? 0;
    t += dtUs;
    const node = byId.get(id)!;
    if (IDLE.has(node.callFrame.functionName) || !windows.some(([a, b]) => t >= a && t <= b)) return;
    const dt = dtUs / 1000;
    busyMs += dt;
    const part = find(node);
    ms.set(part, ms.get(part)! + dt);
  });
  return { busyMs, parts: [...ms].map(([name, v]) => ({ name, ms: v })) };
}

/** The one .cpuprofile `node --cpu-prof --cpu-prof-dir DIR` wrote. */
export function readProfile(dir: string): Profile {
  const files = readdirSync(dir).filter((f) => f.endsWith(".cpuprofile"));
  if (files.length !== 1) throw new Error(`${dir}: expected one .cpuprofile, found ${files.length}`);
  return JSON.parse(readFileSync(join(dir, files[0]!), "utf8")) as Profile;
}
