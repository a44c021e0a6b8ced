// A CPU profile of one phase of a benchmark, taken in-process with the inspector (what
// `node --cpu-prof` records, but only between start() and stop()), written as a .cpuprofile that
// Chrome DevTools opens, and summarised: the functions with the most time of their own, and the
// project's functions with the most time including what they call.
import { writeFileSync } from "node:fs";
import { Session } from "node:inspector/promises";
import path from "node:path";

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

export interface PhaseProfiler {
  start(): Promise<void>;
  /** Stops, writes `file`, and returns the summary's lines. */
  stop(file: string, top?: number): Promise<string[]>;
}

export function phaseProfiler(): PhaseProfiler {
  const session = new Session();
  session.connect();
  return {
    async start() {
      await session.post("Profiler.enable");
      await session.post("Profiler.setSamplingInterval", { interval: 200 });
      await session.post("Profiler.start");
    },
    async stop(file, top = 15) {
      const { profile } = (await session.post("Profiler.stop")) as { profile: Profile };
      session.disconnect();
      writeFileSync(file, JSON.stringify(profile));
      return summarise(profile, top);
    },
  };
}

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), "../..");

const label = (n: ProfileNode) => {
  const { functionName, url, lineNumber } = n.callFrame;
  const file = url.replace(/^file:\/\//, "").replace(`${root}/`, "");
  return `${functionName || "(anonymous)"} ${file ? `${file}:${lineNumber + 1}` : ""}`.trim();
};

export function summarise(p: Profile, top: number): string[] {
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const self = new Map<string, number>();
  const total = new Map<string, number>();
  let all = 0;
  p.samples.forEach((id, i) => {
    const dt = (p.timeDeltas[i] ?? 0) / 1000;
    all += dt;
    const leaf = byId.get(id)!;
    self.set(label(leaf), (self.get(label(leaf)) ?? 0) + dt);
    const seen = new Set<string>();
    for (let n: ProfileNode | undefined = leaf; n; n = byId.get(parent.get(n.id) ?? -1)) {
      const l = label(n);
      if (seen.has(l) || !n.callFrame.url.includes(root) || n.callFrame.url.includes("node_modules"))
        continue;
      seen.add(l);
      total.set(l, (total.get(l) ?? 0) + dt);
    }
  });
  const rows = (m: Map<string, number>) =>
    [...m]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(
        ([l, ms]) => `  ${ms.toFixed(1).padStart(9)} ms  ${((100 * ms) / all).toFixed(1).padStart(5)}%  ${l}`,
      );
  return [
    `profile: ${all.toFixed(0)} ms sampled`,
    "self time (top):",
    ...rows(self),
    "project functions, time including callees (top):",
    ...rows(total),
  ];
}
