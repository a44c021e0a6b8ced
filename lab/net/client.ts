// The host side of client-agent.ts: asks the agent in a client namespace to open connections.
import readline from "node:readline";
import path from "node:path";
import { spawnInNs, waitForLine } from "./processes.ts";
import { LAB_DIR, NODE } from "./sys.ts";

export type Probe =
  | { ok: true; answer: string }
  | {
      ok: false;
      error: string;
      /** A failed TCP connection's source port and times (epoch ms): to find it in a capture. */
      port?: number;
      startedAt?: number;
      failedAt?: number;
    };

export interface AskOptions {
  /** default 1000 */
  timeoutMs?: number;
  /** source address (one of the client namespace's) */
  from?: string;
  /** source port */
  fromPort?: number;
}

/**
 * The agent in one namespace, from the host: a TCP connection or a datagram from a fresh socket
 * (a new source port unless one is chosen), answered by the backend's name (an HTTP answer's
 * body: the lab's pods).
 */
export interface ClientAgent {
  tcp(host: string, port: number, o?: AskOptions): Promise<Probe>;
  udp(host: string, port: number, o?: AskOptions): Promise<Probe>;
  /** `count` sequential requests; answers in order. */
  many(proto: "tcp" | "udp", host: string, port: number, count: number, o?: AskOptions): Promise<Probe[]>;
  close(): Promise<void>;
}

export const startClientAgent = async (ns: string, name = "client agent"): Promise<ClientAgent> => {
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
  const ask = (proto: "tcp" | "udp", host: string, port: number, o: AskOptions = {}) =>
    new Promise<Probe>((resolve) => {
      const n = ++id;
      waiting.set(n, resolve);
      const { timeoutMs = 1000, from, fromPort } = o;
      agent.child.stdin!.write(
        `${JSON.stringify({ id: n, proto, host, port, timeoutMs, from, fromPort })}\n`,
      );
    });
  return {
    tcp: (host, port, o) => ask("tcp", host, port, o),
    udp: (host, port, o) => ask("udp", host, port, o),
    many: async (proto, host, port, count, o) => {
      const out: Probe[] = [];
      for (let i = 0; i < count; i++) out.push(await ask(proto, host, port, o));
      return out;
    },
    close: async () => {
      agent.child.stdin!.end();
      await agent.stop();
    },
  };
};
