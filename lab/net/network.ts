// A node, a client and backends in network namespaces, for end-to-end tests and benchmarks:
//
//   host ──knl<S>-api── [node: nftlb] ──client── [client]
//   10.201.S.1/30        10.201.S.2     10.202.S.1  10.202.S.2
//                          │ br0 10.203.S.1/24 (or one routed veth per backend)
//                  [knl<S>-b0] 10.203.S.10   [knl<S>-b1] 10.203.S.11 …
//
// nftlb listens on the node's end of the API link, so the test process in the host namespace
// reaches it over a real socket. VIPs (ClusterIP-like, 10.204.S.x) are only routed: the client's
// default route is the node, where nftlb's prerouting DNAT catches them. Only addresses inside
// these namespaces (and the host end of the API link) are ever used.
import process from "node:process";
import { randomBytes } from "node:crypto";
import { ipBatch, run, sysctl } from "./sys.ts";
import { claimSlot, releaseSlot, PREFIX } from "./slots.ts";
import { startBackend, startNftlb, type Running } from "./processes.ts";
import { startClientAgent, type ClientAgent } from "./client.ts";
import { captureIfAsked, type Capture } from "./capture.ts";

export interface TestBackend {
  name: string;
  ip: string;
  ns: string;
  /** dsr: the backend must accept packets addressed to the VIP, so it holds it on its loopback. */
  holdVip(vip: string): Promise<void>;
}

export interface TestNetworkOptions {
  backends: number;
  /** TCP and UDP ports every backend answers on. */
  ports?: number[];
  /** "bridge": backends share one L2 segment (like a cni0 bridge); "routed": one veth and /32 route each. */
  link?: "bridge" | "routed";
  /**
   * Give the first backends these addresses instead of 10.203.<slot>.x (e.g. the Pod IPs of a
   * manifest). Any IPv4 works: backends are then routed (/32 each), whatever `link` says.
   */
  backendIps?: string[];
}

export interface TestNetwork {
  slot: number;
  nftlb: {
    url: string;
    key: string;
    ns: string;
    restart(): Promise<void>;
    stop(): Promise<void>;
    logs(): string;
  };
  node: {
    ns: string;
    clientIface: string;
    backendIface: (backend: string) => string;
    clientSideIp: string;
    /** The MAC of one of the node's interfaces (dsr/stlsdnat farms need the client-side one). */
    mac(iface: string): Promise<string>;
  };
  client: ClientAgent & { ns: string; ip: string };
  backends: TestBackend[];
  /** A VIP routed to the node (never on any interface): 10.204.<slot>.<n>. */
  vip(n: number): string;
  addBackend(): Promise<TestBackend>;
  /**
   * Writes every backend's MAC into the node's neighbour table. nftlb's dsr/stlsdnat read MACs
   * from there (and listen for changes) but never resolve one themselves.
   */
  learnNeighbours(): Promise<void>;
  /** `nft list ruleset` of the node: what really reached the kernel. */
  ruleset(): Promise<string>;
  removeBackend(name: string): Promise<void>;
  destroy(): Promise<void>;
}

const NFTLB_PORT = 5555;

export const createTestNetwork = async (options: TestNetworkOptions): Promise<TestNetwork> => {
  const slot = claimSlot();
  const onExit = () => releaseSlot(slot);
  // Synchronous teardown even when the test process dies on an exception.
  process.on("exit", onExit);
  const net = `${PREFIX}${slot}`;
  const nodeNs = `${net}-node`;
  const clientNs = `${net}-client`;
  const ports = options.ports ?? [8080];
  const link = options.backendIps ? "routed" : (options.link ?? "bridge");
  const key = randomBytes(12).toString("base64url");
  const apiIp = `10.201.${slot}.2`;
  const running: Running[] = [];
  const backends: TestBackend[] = [];
  const echoes = new Map<string, Running>();
  let nftlb: Running | undefined;
  let agent: ClientAgent | undefined;
  let capture: Capture | undefined;
  let nextBackend = 0;

  const destroy = async () => {
    await agent?.close();
    await Promise.all([...running, ...echoes.values(), ...(nftlb ? [nftlb] : [])].map((r) => r.stop()));
    await capture?.stop();
    releaseSlot(slot);
    process.off("exit", onExit);
  };

  const addBackend = async (): Promise<TestBackend> => {
    const i = nextBackend++;
    const name = `backend-${i}`;
    const ns = `${net}-b${i}`;
    const ip = options.backendIps?.[i] ?? `10.203.${slot}.${10 + i}`;
    const gw = `10.203.${slot}.1`;
    const nodeSide = `b${i}`;
    await ipBatch([
      `netns add ${ns}`,
      `link add ${nodeSide} netns ${nodeNs} type veth peer name eth0 netns ${ns}`,
    ]);
    await ipBatch(
      link === "bridge"
        ? [`link set ${nodeSide} master br0`, `link set ${nodeSide} up`]
        : [
            `addr add ${gw}/32 dev ${nodeSide}`,
            `link set ${nodeSide} up`,
            `route add ${ip}/32 dev ${nodeSide}`,
          ],
      nodeNs,
    );
    await ipBatch(
      [
        "link set lo up",
        `addr add ${ip}/${link === "bridge" ? 24 : 32} dev eth0`,
        "link set eth0 up",
        ...(link === "routed" ? [`route add ${gw}/32 dev eth0`] : []),
        `route add default via ${gw}`,
      ],
      ns,
    );
    await sysctl(ns, { "net.ipv4.conf.all.rp_filter": "0", "net.ipv4.conf.default.rp_filter": "0" });
    // The backend server's hello to its gateway puts the backend's MAC into the node's neighbour
    // table, as a pod's own traffic would: nftlb's dsr/stlsdnat read MACs there, never resolve.
    echoes.set(name, await startBackend(ns, name, ports, gw));
    const backend: TestBackend = {
      name,
      ip,
      ns,
      holdVip: async (vip) => {
        await ipBatch([`addr add ${vip}/32 dev lo`], ns);
        // The backend must neither answer ARP for the VIP nor use it as a source elsewhere.
        await sysctl(ns, { "net.ipv4.conf.all.arp_ignore": "1", "net.ipv4.conf.all.arp_announce": "2" });
      },
    };
    backends.push(backend);
    return backend;
  };

  try {
    await ipBatch([
      `netns add ${nodeNs}`,
      `netns add ${clientNs}`,
      `link add ${net}-api type veth peer name api netns ${nodeNs}`,
      `addr add 10.201.${slot}.1/30 dev ${net}-api`,
      `link set ${net}-api up`,
      `link add client netns ${nodeNs} type veth peer name eth0 netns ${clientNs}`,
    ]);
    await ipBatch(
      [
        "link set lo up",
        `addr add ${apiIp}/30 dev api`,
        "link set api up",
        `addr add 10.202.${slot}.1/24 dev client`,
        "link set client up",
        ...(link === "bridge"
          ? ["link add br0 type bridge", `addr add 10.203.${slot}.1/24 dev br0`, "link set br0 up"]
          : []),
      ],
      nodeNs,
    );
    await ipBatch(
      [
        "link set lo up",
        `addr add 10.202.${slot}.2/24 dev eth0`,
        "link set eth0 up",
        `route add default via 10.202.${slot}.1`,
      ],
      clientNs,
    );
    await sysctl(nodeNs, {
      "net.ipv4.ip_forward": "1",
      "net.ipv4.conf.all.rp_filter": "0",
      "net.ipv4.conf.default.rp_filter": "0",
    });
    // KNL_CAPTURE_DIR: conntrack events, nft monitor, pcaps of the node (lab/net/capture.ts).
    capture = await captureIfAsked({
      nodeNs,
      clientIp: `10.202.${slot}.2`,
      clientIface: "client",
      backendIface: link === "bridge" ? "br0" : "any",
    });
    nftlb = await startNftlb(nodeNs, apiIp, NFTLB_PORT, key);
    agent = await startClientAgent(clientNs);
    // In parallel: each backend is a Node process to start (about 0.3 s each).
    await Promise.all(Array.from({ length: options.backends }, () => addBackend()));
    backends.sort((a, b) => Number(a.name.slice(8)) - Number(b.name.slice(8)));
  } catch (err) {
    await destroy();
    throw err;
  }

  const client = agent;
  return {
    slot,
    nftlb: {
      url: `http://${apiIp}:${NFTLB_PORT}`,
      key,
      ns: nodeNs,
      logs: () => nftlb?.logs() ?? "",
      stop: async () => {
        await nftlb?.stop();
      },
      restart: async () => {
        await nftlb?.stop();
        nftlb = await startNftlb(nodeNs, apiIp, NFTLB_PORT, key);
      },
    },
    node: {
      ns: nodeNs,
      clientIface: "client",
      backendIface: (name) => (link === "bridge" ? "br0" : `b${name.replace("backend-", "")}`),
      clientSideIp: `10.202.${slot}.1`,
      mac: async (iface) => {
        const [info] = JSON.parse(await run(["ip", "-n", nodeNs, "-j", "link", "show", iface])) as {
          address: string;
        }[];
        return info?.address ?? "";
      },
    },
    client: Object.assign(client, { ns: clientNs, ip: `10.202.${slot}.2` }),
    backends,
    vip: (n) => `10.204.${slot}.${n}`,
    addBackend,
    learnNeighbours: async () => {
      for (const b of backends) {
        const [l] = JSON.parse(await run(["ip", "-n", b.ns, "-j", "link", "show", "eth0"])) as {
          address: string;
        }[];
        const dev = link === "bridge" ? "br0" : `b${b.name.replace("backend-", "")}`;
        await ipBatch([`neigh replace ${b.ip} lladdr ${l?.address ?? ""} dev ${dev} nud reachable`], nodeNs);
      }
    },
    ruleset: () => run(["ip", "netns", "exec", nodeNs, "nft", "list", "ruleset"]),
    removeBackend: async (name) => {
      const i = backends.findIndex((b) => b.name === name);
      if (i < 0) return;
      const [b] = backends.splice(i, 1);
      await echoes.get(name)?.stop();
      echoes.delete(name);
      await ipBatch([`netns del ${b!.ns}`]);
    },
    destroy,
  };
};
