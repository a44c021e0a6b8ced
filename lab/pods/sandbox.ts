// A Pod's sandbox: its own network namespace with one veth into the node namespace's bridge (the
// pod range), a default route through the node (where nftlb runs), and the pod server answering
// on every declared container port. Built from lab/net's primitives (ip batches, sysctl, spawn).
import { ipBatch, sysctl } from "../net/sys.ts";
import readline from "node:readline";
import { spawnBackend, type Running } from "../net/processes.ts";

export interface PodPort {
  port: number;
  protocol: "TCP" | "UDP";
}

export interface SandboxSpec {
  /** the pod's network namespace, e.g. knl7-p3 */
  ns: string;
  /** the node namespace and its bridge that holds the pod range */
  nodeNs: string;
  bridge: string;
  /** the node-side veth name (at most 15 characters) */
  nodeIface: string;
  ip: string;
  prefixLength: number;
  gateway: string;
  podName: string;
  ports: readonly PodPort[];
}

export interface Sandbox {
  ns: string;
  ip: string;
  /** the ports the pod server answers on */
  served(): PodPort[];
  /** opens the given ports as well (resolves once each listens; rejects naming the one that failed) */
  listen(ports: readonly PodPort[]): Promise<void>;
  /** Last lines of the pod server's stderr. */
  logs(): string;
  destroy(): Promise<void>;
}

const uniquePorts = (ports: readonly PodPort[]): PodPort[] => [
  ...new Map(ports.map((p) => [`${p.protocol}/${p.port}`, p])).values(),
];

interface ServerLines {
  /** the first stdout line from now on that `match` accepts */
  next(match: (line: string) => boolean, deadlineMs: number): Promise<string>;
}

/** One reader of the pod server's stdout, shared by every wait (one per request, in turn). */
const serverLines = (server: Running): ServerLines => {
  const waiting = new Set<(line: string) => void>();
  readline.createInterface({ input: server.child.stdout! }).on("line", (l) => {
    for (const w of [...waiting]) w(l);
  });
  return {
    next: (match, deadlineMs) =>
      new Promise((resolve, reject) => {
        const done = () => {
          clearTimeout(timer);
          waiting.delete(onLine);
          server.child.off("exit", onExit);
        };
        const onLine = (l: string) => {
          if (!match(l)) return;
          done();
          resolve(l);
        };
        const onExit = (code: number | null) => {
          done();
          reject(new Error(`pod server exited with ${code}: ${server.logs()}`));
        };
        const timer = setTimeout(() => {
          done();
          reject(new Error(`pod server: no answer within ${deadlineMs} ms: ${server.logs()}`));
        }, deadlineMs);
        waiting.add(onLine);
        server.child.once("exit", onExit);
      }),
  };
};

export const createSandbox = async (s: SandboxSpec): Promise<Sandbox> => {
  let server: Running | undefined;
  let lines: ServerLines | undefined;
  const destroy = async () => {
    await server?.stop();
    // Deleting the namespace deletes its veth end, and with it the node's end.
    await ipBatch([`netns del ${s.ns}`]).catch(() => undefined);
  };
  try {
    await ipBatch([
      `netns add ${s.ns}`,
      `link add ${s.nodeIface} netns ${s.nodeNs} type veth peer name eth0 netns ${s.ns}`,
    ]);
    // Hairpin on the bridge port, as kubelet's hairpin-veth / the CNI bridge plugin's hairpinMode
    // set it: a Pod's packet to its own Service, DNATed back to that Pod, leaves by the port it
    // came in on (br_netfilter bridges it).
    await ipBatch(
      [
        `link set ${s.nodeIface} master ${s.bridge}`,
        `link set ${s.nodeIface} type bridge_slave hairpin on`,
        `link set ${s.nodeIface} up`,
      ],
      s.nodeNs,
    );
    await ipBatch(
      [
        "link set lo up",
        `addr add ${s.ip}/${s.prefixLength} dev eth0`,
        "link set eth0 up",
        `route add default via ${s.gateway}`,
      ],
      s.ns,
    );
    await sysctl(s.ns, { "net.ipv4.conf.all.rp_filter": "0", "net.ipv4.conf.default.rp_filter": "0" });
    const ports = (p: "TCP" | "UDP") =>
      uniquePorts(s.ports)
        .filter((x) => x.protocol === p)
        .map((x) => x.port);
    server = spawnBackend(s.ns, s.podName, { tcp: ports("TCP"), udp: ports("UDP"), hello: s.gateway });
    lines = serverLines(server);
    await lines.next((l) => l === "ready", 15_000);
  } catch (err) {
    await destroy();
    throw err;
  }
  const served = uniquePorts(s.ports);
  const running = server;
  const next = lines;
  return {
    ns: s.ns,
    ip: s.ip,
    served: () => [...served],
    listen: async (ports) => {
      for (const p of uniquePorts(ports)) {
        if (served.some((x) => x.port === p.port && x.protocol === p.protocol)) continue;
        const id = `${p.protocol.toLowerCase()} ${p.port}`;
        running.child.stdin?.write(`${id}\n`);
        const answer = await next.next(
          (l) => l === `listening ${id}` || l.startsWith(`failed ${id}:`),
          15_000,
        );
        if (answer.startsWith("failed")) throw new Error(`pod server: ${answer}`);
        served.push(p);
      }
    },
    logs: () => server?.logs() ?? "",
    destroy,
  };
};
