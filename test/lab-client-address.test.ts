// Whose address a backend sees, on the two-node lab (issue 12 item 4), checked at the backend: an
// nft counter in the Pod's own namespace counts packets from the client's address.
// - externalTrafficPolicy: Local, mode left unset: the node's NodePort sends the client to a Pod
//   of that node only, and the Pod sees the client's own address (kube-nftlb chose dnat for the
//   external farm);
// - externalTrafficPolicy: Cluster: the NodePort reaches Pods on both nodes, masqueraded (the
//   counter stays at zero while the Pod answers);
// - hairpin: a Pod reaching itself through its Service's ClusterIP is answered (snat farm).
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { run } from "../lab/net/sys.ts";
import { startTraffic } from "../lab/cluster/traffic.ts";
import { podYaml, startLab, until, whyNoLab, type Lab } from "./lab-fixture.ts";

const skip = whyNoLab();
const PODS = ["web-0", "web-1", "web-2", "web-3"];
const LOCAL_PORT = 30081;
const CLUSTER_PORT = 30082;

const service = (name: string, policy: "Local" | "Cluster", nodePort: number) => `apiVersion: v1
kind: Service
metadata: { name: ${name} }
spec:
  type: NodePort
  externalTrafficPolicy: ${policy}
  selector: { app: web }
  ports: [{ name: http, port: 80, targetPort: http, protocol: TCP, nodePort: ${nodePort} }]
---`;

/** Counts, inside a Pod's namespace, TCP packets from `source` to the pod server's port. */
const counter: {
  add(ns: string, source: string): Promise<string>;
  read(ns: string): Promise<number>;
  reset(ns: string, source: string): Promise<void>;
} = {
  add: (ns: string, source: string) =>
    run(
      ["ip", "netns", "exec", ns, "nft", "-f", "-"],
      `table inet probe { chain input { type filter hook input priority 0; ip saddr ${source} tcp dport 8080 counter; }; }\n`,
    ),
  read: async (ns: string): Promise<number> => {
    const out = await run(["ip", "netns", "exec", ns, "nft", "list", "table", "inet", "probe"]);
    return Number(/counter packets (\d+)/.exec(out)?.[1] ?? "NaN");
  },
  // Rule counters are anonymous (`nft reset counters` only resets named ones): start a new table.
  reset: async (ns: string, source: string) => {
    await run(["ip", "netns", "exec", ns, "nft", "delete", "table", "inet", "probe"]);
    await counter.add(ns, source);
  },
};

describe(
  "two-node lab: the client's address at the backend, masquerade where needed, hairpin",
  {
    skip: skip ?? false,
    timeout: 180_000,
  },
  () => {
    let lab: Lab;
    let client = "";
    let podNode = new Map<string, string>();
    const podNs = (pod: string) => lab.cluster.pods.sandboxes().get(`default/${pod}`)!.ns;

    const answers = async (host: string, port: number, n = 8) => {
      const out: string[] = [];
      for (let i = 0; i < n; i++) {
        const p = await lab.cluster.traffic.tcp(host, port, { timeoutMs: 1000, from: client });
        out.push(p.ok ? p.answer : `(${p.error})`);
      }
      return [...new Set(out)].sort();
    };

    before(async () => {
      lab = await startLab();
      client = lab.cluster.info.client.addresses[1]!;
      await lab.k(
        ["apply", "-f", "-"],
        [
          ...PODS.map((p) => podYaml(p, { app: "web" })),
          service("local", "Local", LOCAL_PORT),
          service("cluster", "Cluster", CLUSTER_PORT),
        ].join("\n"),
      );
      await until("the four Pods running", async () => {
        const out = await lab.k([
          "get",
          "pods",
          "-o",
          'jsonpath={range .items[*]}{.metadata.name}={.spec.nodeName}={.status.podIP}{"\\n"}{end}',
        ]);
        const rows = out
          .trim()
          .split("\n")
          .map((l) => l.split("="));
        if (rows.length !== 4 || rows.some((r) => !r[2])) return undefined;
        podNode = new Map(rows.map((r) => [r[0]!, r[1]!]));
        return true;
      });
      for (const p of PODS) await counter.add(podNs(p), client);
    });
    after(async () => {
      await lab?.stop();
    });

    it("the mode annotation is left unset for Local (the webhook wrote none); the external farm is dnat", async () => {
      const annotations = await lab.k(["get", "svc", "local", "-o", "jsonpath={.metadata.annotations}"]);
      assert.doesNotMatch(annotations, /load-balancer-mode/);
      assert.match(
        await lab.k(["get", "svc", "cluster", "-o", "jsonpath={.metadata.annotations}"]),
        /load-balancer-mode":"snat"/,
      );
      const ext = await until("the .ext farm", () => lab.farm("default.local.http.ext"));
      assert.equal((ext as { mode?: string }).mode, "dnat");
    });

    for (const node of [0, 1]) {
      it(`externalTrafficPolicy: Local on node ${node + 1}: only its own Pods answer, and they see the client's address`, async () => {
        const n = lab.cluster.info.nodes[node]!;
        const local = PODS.filter((p) => podNode.get(p) === n.name);
        assert.ok(local.length > 0, `Pods on ${n.name}`);
        for (const p of PODS) await counter.reset(podNs(p), client);
        const got = await until(`${n.name}'s Local NodePort answered by its Pods`, async () => {
          const a = await answers(n.addresses.InternalIP, LOCAL_PORT);
          return a.join() === local.join() ? a : undefined;
        });
        assert.deepEqual(got, local);
        for (const p of local)
          assert.ok((await counter.read(podNs(p))) > 0, `${p} saw packets from ${client}`);
      });
    }

    it("externalTrafficPolicy: Cluster: Pods on both nodes answer, masqueraded (not from the client's address)", async () => {
      for (const p of PODS) await counter.reset(podNs(p), client);
      const got = await until("every Pod answering at node 1's Cluster NodePort", async () => {
        const a = await answers(lab.cluster.info.node.addresses.InternalIP, CLUSTER_PORT);
        return a.join() === PODS.join() ? a : undefined;
      });
      assert.deepEqual(got, PODS);
      for (const p of PODS) assert.equal(await counter.read(podNs(p)), 0, `${p} saw the node, not ${client}`);
    });

    it("hairpin: a Pod reaching its own Service's ClusterIP is answered, by itself too", async () => {
      const vip = await lab.clusterIP("cluster");
      const self = PODS[0]!;
      const fromPod = await startTraffic(podNs(self));
      try {
        const seen = new Set<string>();
        for (let i = 0; i < 16; i++) {
          const p = await fromPod.tcp(vip, 80, { timeoutMs: 1000 });
          seen.add(p.ok ? p.answer : `(${p.error})`);
        }
        assert.deepEqual([...seen].sort(), PODS, "rr over all four, the Pod itself included, none failed");
      } finally {
        await fromPod.close();
      }
    });
  },
);
