// Real connections from the lab's client namespace, through lab/net's client agent (HTTP pods:
// the answer is the body), from a chosen source address and port where a test needs one.
import { startAgent, type AskOptions, type Probe } from "../net/client.ts";

export type { Probe };
export type ProbeOptions = AskOptions;

export interface Traffic {
  tcp(host: string, port: number, o?: ProbeOptions): Promise<Probe>;
  udp(host: string, port: number, o?: ProbeOptions): Promise<Probe>;
  close(): Promise<void>;
}

export const startTraffic = async (ns: string): Promise<Traffic> => {
  const agent = await startAgent(ns, "traffic agent");
  return {
    tcp: (h, p, o) => agent.ask("tcp", h, p, o),
    udp: (h, p, o) => agent.ask("udp", h, p, o),
    close: () => agent.close(),
  };
};
