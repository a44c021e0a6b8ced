// A Pod's sandbox: its own network namespace with one veth into the node namespace's bridge (the
// pod range), a default route through the node (where nftlb runs), and the pod server answering
// on every declared container port. Built from lab/net's primitives (ip batches, sysctl, spawn).
import path from "node:path";
import { ipBatch, sysctl, NODE } from "../net/sys.ts";
import { spawnInNs, waitForLine, type Running } from "../net/processes.ts";

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
  /** Last lines of the pod server's stderr. */
  logs(): string;
  destroy(): Promise<void>;
}

const SERVER = path.join(path.dirname(new URL(import.meta.url).pathname), "pod-server.ts");

export const createSandbox = async (s: SandboxSpec): Promise<Sandbox> => {
  let server: Running | undefined;
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
      [...new Set(s.ports.filter((x) => x.protocol === p).map((x) => x.port))].flatMap((n) => [
        p === "TCP" ? "--tcp" : "--udp",
        String(n),
      ]);
    server = spawnInNs(s.ns, [
      NODE,
      SERVER,
      "--name",
      s.podName,
      ...ports("TCP"),
      ...ports("UDP"),
      "--hello",
      s.gateway,
    ]);
    await waitForLine(server, /^ready$/, 15_000);
  } catch (err) {
    await destroy();
    throw err;
  }
  return { ns: s.ns, ip: s.ip, logs: () => server?.logs() ?? "", destroy };
};
