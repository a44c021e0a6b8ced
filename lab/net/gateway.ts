// A default route for the test node, to a namespace that only counts what arrives: where a node
// would leak traffic toward its gateway, a test can see it (and assert that nothing came).
//
//   [node] gw 10.209.S.1/30 ── eth0 10.209.S.2/30 [knl<S>-gw: counts IPv4 packets, forwards none]
import { ipBatch, inNs, run } from "./sys.ts";
import { PREFIX } from "./slots.ts";

export interface CountingGateway {
  ns: string;
  ip: string;
  /** IPv4 packets that reached the gateway since it was made. */
  arrived(): Promise<number>;
  destroy(): Promise<void>;
}

export async function addCountingGateway(net: {
  slot: number;
  node: { ns: string };
}): Promise<CountingGateway> {
  const ns = `${PREFIX}${net.slot}-gw`;
  const ip = `10.209.${net.slot}.2`;
  await ipBatch([`netns add ${ns}`, `link add gw netns ${net.node.ns} type veth peer name eth0 netns ${ns}`]);
  await ipBatch(
    [`addr add 10.209.${net.slot}.1/30 dev gw`, "link set gw up", `route add default via ${ip}`],
    net.node.ns,
  );
  await ipBatch(["link set lo up", `addr add ${ip}/30 dev eth0`, "link set eth0 up"], ns);
  await run(
    ["ip", "netns", "exec", ns, "nft", "-f", "-"],
    "table inet count {\n counter arrived {}\n chain in { type filter hook prerouting priority 0; meta nfproto ipv4 counter name arrived; }\n}\n",
  );
  return {
    ns,
    ip,
    arrived: async () => {
      const out = JSON.parse(
        await inNs(ns, ["nft", "-j", "list", "counter", "inet", "count", "arrived"]),
      ) as {
        nftables: { counter?: { packets: number } }[];
      };
      return out.nftables.find((o) => o.counter !== undefined)?.counter?.packets ?? 0;
    },
    destroy: async () => {
      await ipBatch([`netns del ${ns}`]);
    },
  };
}
