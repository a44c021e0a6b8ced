// The host side of traffic-agent.ts: real connections from the lab's client namespace.
import readline from "node:readline";
import path from "node:path";
import { spawnInNs, waitForLine } from "../net/processes.ts";
import { NODE } from "../net/sys.ts";

export type Probe = { ok: true; answer: string } | { ok: false; error: string };

export interface ProbeOptions {
  timeoutMs?: number;
  /** source address (one of the client namespace's) */
  from?: string;
  /** source port */
  fromPort?: number;
}

export interface Traffic {
  tcp(host: string, port: number, o?: ProbeOptions): Promise<Probe>;
  udp(host: string, port: number, o?: ProbeOptions): Promise<Probe>;
  close(): Promise<void>;
}

const AGENT = path.join(path.dirname(new URL(import.meta.url).pathname), "traffic-agent.ts");

export const startTraffic = async (ns: string): Promise<Traffic> => {
  const agent = spawnInNs(ns, [NODE, AGENT]);
  await waitForLine(agent, /"ready":true/, 10_000);
  const waiting = new Map<number, (p: Probe) => void>();
  let id = 0;
  // A dead agent must fail the probes waiting on it, never crash the process that asked.
  agent.child.stdin!.on("error", () => undefined);
  readline.createInterface({ input: agent.child.stdout! }).on("line", (line) => {
    let parsed: Probe & { id?: number };
    try {
      parsed = JSON.parse(line) as Probe & { id?: number };
    } catch {
      return;
    }
    const { id: n, ...probe } = parsed;
    if (n === undefined) return;
    waiting.get(n)?.(probe);
    waiting.delete(n);
  });
  agent.child.on("exit", () => {
    for (const resolve of waiting.values()) resolve({ ok: false, error: "traffic agent exited" });
    waiting.clear();
  });
  const ask = (proto: "tcp" | "udp", host: string, port: number, o: ProbeOptions = {}): Promise<Probe> =>
    new Promise((resolve) => {
      const n = ++id;
      waiting.set(n, resolve);
      agent.child.stdin!.write(
        `${JSON.stringify({ id: n, proto, host, port, timeoutMs: o.timeoutMs ?? 1000, from: o.from, fromPort: o.fromPort })}\n`,
      );
    });
  return {
    tcp: (h, p, o) => ask("tcp", h, p, o),
    udp: (h, p, o) => ask("udp", h, p, o),
    close: async () => {
      agent.child.stdin!.end();
      await agent.stop();
    },
  };
};
