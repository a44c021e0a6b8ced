// A second node beside a test network's first one (the lab's `--nodes 2`): its own namespace
// with its own nftlb, a pod bridge, a link to the host for its nftlb's API and the API server,
// and a link to the first node that routes each node's pod range to the other:
//
//   host ──knl<S>-api── [node] ──client── [client]          node: 10.202.S.1 (InternalIP)
//     │                   │ node2 10.207.S.1/24             pods 10.203.S.0/24 on br0
//     └──knl<S>-api2── [node2]                              node2: 10.207.S.2 (InternalIP)
//     10.201.S.5/30     10.201.S.6, br0 10.206.S.1/24       pods 10.206.S.0/24 on br0
//
// Node 2's default route is node 1 (which reaches the client); the client reaches node 2's
// address and pods through node 1. Everything lives in the slot's `knl<S>-` namespaces, so the
// slot cleanup removes it like the rest (the host veth goes with its namespace).
import { randomBytes } from "node:crypto";
import { ipBatch, sysctl } from "./sys.ts";
import { startNftlb, type Running } from "./processes.ts";
import type { TestNetwork } from "./network.ts";

export interface SecondNode {
  ns: string;
  /** The node's address on the node network (its InternalIP). */
  ip: string;
  /** Its end of the host link: nftlb's API and the probes listen here. */
  apiIp: string;
  pods: { bridge: string; ipPrefix: string; gateway: string; cidr: string };
  nftlb: { url: string; key: string; stop(): Promise<void> };
}

const NFTLB_PORT = 5555;

export async function addSecondNode(net: TestNetwork): Promise<SecondNode> {
  const s = net.slot;
  const ns = `${net.node.ns}2`;
  const hostLink = `knl${s}-api2`;
  const apiIp = `10.201.${s}.6`;
  const ip = `10.207.${s}.2`;
  const podCidr = `10.206.${s}.0/24`;
  await ipBatch([
    `netns add ${ns}`,
    `link add ${hostLink} type veth peer name api netns ${ns}`,
    `addr add 10.201.${s}.5/30 dev ${hostLink}`,
    `link set ${hostLink} up`,
    `link add node2 netns ${net.node.ns} type veth peer name node1 netns ${ns}`,
  ]);
  await ipBatch(
    [
      "link set lo up",
      `addr add ${apiIp}/30 dev api`,
      "link set api up",
      `addr add ${ip}/24 dev node1`,
      "link set node1 up",
      "link add br0 type bridge",
      `addr add 10.206.${s}.1/24 dev br0`,
      "link set br0 up",
      `route add default via 10.207.${s}.1`,
      // The API server listens on the host end of node 1's link: reach it over this node's own.
      `route add 10.201.${s}.1/32 via 10.201.${s}.5 dev api`,
    ],
    ns,
  );
  await ipBatch(
    [`addr add 10.207.${s}.1/24 dev node2`, "link set node2 up", `route add ${podCidr} via ${ip}`],
    net.node.ns,
  );
  await sysctl(ns, {
    "net.ipv4.ip_forward": "1",
    "net.ipv4.conf.all.rp_filter": "0",
    "net.ipv4.conf.default.rp_filter": "0",
  });
  const key = randomBytes(12).toString("base64url");
  const nftlb: Running = await startNftlb(ns, apiIp, NFTLB_PORT, key);
  return {
    ns,
    ip,
    apiIp,
    pods: { bridge: "br0", ipPrefix: `10.206.${s}.`, gateway: `10.206.${s}.1`, cidr: podCidr },
    nftlb: { url: `http://${apiIp}:${NFTLB_PORT}`, key, stop: () => nftlb.stop() },
  };
}
