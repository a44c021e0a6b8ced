// The host side of client-agent.ts: asks the agent in a client namespace to open connections.
import readline from "node:readline";
import path from "node:path";
import { spawnInNs, waitForLine } from "./processes.ts";
import { LAB_DIR, NODE } from "./sys.ts";

export type Probe = { ok: true; answer: string } | { ok: false; error: string };

export interface AskOptions {
  /** default 1000 */
  timeoutMs?: number;
  /** source address (one of the client namespace's) */
  from?: string;
  /** source port */
  fromPort?: number;
}

/** One request to the agent: a TCP connection or a datagram from a fresh socket. */
export interface Agent {
  ask(proto: "tcp" | "udp", host: string, port: number, o?: AskOptions): Promise<Probe>;
  close(): Promise<void>;
}

export const startAgent = async (ns: string, name = "client agent"): Promise<Agent> => {
  const agent = spawnInNs(ns, [NODE, path.join(LAB_DIR, "client-agent.ts")]);
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
    for (const resolve of waiting.values()) resolve({ ok: false, error: `${name} exited` });
    waiting.clear();
  });
  return {
    ask: (proto, host, port, o = {}) =>
      new Promise((resolve) => {
        const n = ++id;
        waiting.set(n, resolve);
        const { timeoutMs = 1000, from, fromPort } = o;
        agent.child.stdin!.write(
          `${JSON.stringify({ id: n, proto, host, port, timeoutMs, from, fromPort })}\n`,
        );
      }),
    close: async () => {
      agent.child.stdin!.end();
      await agent.stop();
    },
  };
};

export interface ClientAgent {
  /** One TCP connection to vip:port (from the source address `from`); the answer is the backend's name. */
  tcp(vip: string, port: number, timeoutMs?: number, from?: string): Promise<Probe>;
  /** One datagram from a fresh socket; the answer is the backend's name. */
  udp(vip: string, port: number, timeoutMs?: number, from?: string): Promise<Probe>;
  /** `count` sequential requests; answers in order. */
  many(proto: "tcp" | "udp", vip: string, port: number, count: number, timeoutMs?: number): Promise<Probe[]>;
  close(): Promise<void>;
}

export const startClientAgent = async (ns: string): Promise<ClientAgent> => {
  const agent = await startAgent(ns);
  return {
    tcp: (vip, port, timeoutMs, from) => agent.ask("tcp", vip, port, { timeoutMs, from }),
    udp: (vip, port, timeoutMs, from) => agent.ask("udp", vip, port, { timeoutMs, from }),
    many: async (proto, vip, port, count, timeoutMs) => {
      const out: Probe[] = [];
      for (let i = 0; i < count; i++) out.push(await agent.ask(proto, vip, port, { timeoutMs }));
      return out;
    },
    close: () => agent.close(),
  };
};
