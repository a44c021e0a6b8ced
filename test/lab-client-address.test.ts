// Whose address a backend sees, on the two-node lab (issue 12 item 4), checked at the backend: an
// nft counter in the Pod's own namespace counts packets from the client's address.
// - externalTrafficPolicy: Local, mode left unset: the node's NodePort sends the client to a Pod
//   of that node only, and the Pod sees the client's own address (kube-nftlb chose dnat for the
//   external farm);
// - externalTrafficPolicy: Cluster: the NodePort reaches Pods on both nodes, masqueraded (the
//   counter stays at zero while the Pod answers);
// - hairpin: a Pod reaching itself through its Service is answered, for every mode a farm can
//   have here: the ClusterIP of the snat farm, the Local NodePort and externalIP of the dnat
//   farm, and the ClusterIP of a Service the user set to `mode: dnat` (kube-nftlb's own table
//   masquerades a dnat'd packet whose source is the endpoint it was sent to, as kube-proxy does).
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { run } from "../lab/net/sys.ts";
import { startClientAgent } from "../lab/net/client.ts";
import { fullKey } from "../annotations/contract.ts";
import { podYaml, startLab, whyNoLab, type Lab } from "./lab-fixture.ts";
import { until } from "./until.ts";

const skip = whyNoLab();
const PODS = ["web-0", "web-1", "web-2", "web-3"];
const LOCAL_PORT = 30081;
const CLUSTER_PORT = 30082;

const service = (
  name: string,
  policy: "Local" | "Cluster",
  nodePort: number,
  externalIp?: string,
) => `apiVersion: v1
kind: Service
metadata: { name: ${name} }
spec:
  type: NodePort
  externalTrafficPolicy: ${policy}${externalIp ? `\n  externalIPs: ["${externalIp}"]` : ""}
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
    let externalIp = "";
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
      externalIp = `10.204.${lab.cluster.info.slot}.21`;
      await lab.k(
        ["apply", "-f", "-"],
        [
          ...PODS.map((p) => podYaml(p, { app: "web" })),
          service("local", "Local", LOCAL_PORT, externalIp),
          service("cluster", "Cluster", CLUSTER_PORT),
          `apiVersion: v1
kind: Service
metadata:
  name: direct
  annotations: { ${fullKey("mode")}: dnat }
spec:
  selector: { app: web }
  ports: [{ name: http, port: 80, targetPort: http, protocol: TCP }]
---`,
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

    /** Who answers `pod` at host:port over 8 fresh connections from the Pod's own namespace. */
    const fromPod = async (pod: string, host: string, port: number): Promise<string[]> => {
      const t = await startClientAgent(podNs(pod));
      try {
        const seen = new Set<string>();
        for (let i = 0; i < 8; i++) {
          const p = await t.tcp(host, port, { timeoutMs: 1000 });
          seen.add(p.ok ? p.answer : `(${p.error})`);
        }
        return [...seen].sort();
      } finally {
        await t.close();
      }
    };

    it("hairpin: a Pod reaching its own Service's ClusterIP (snat farm) is answered, by itself too", async () => {
      const vip = await lab.clusterIP("cluster");
      assert.deepEqual(
        await fromPod(PODS[0]!, vip, 80),
        PODS,
        "rr over all four, the Pod itself included, none failed",
      );
    });

    for (const what of ["NodePort on its own node's address", "externalIP"] as const) {
      it(`hairpin through the Local dnat farm's ${what}: the Pod is answered, by itself too`, async () => {
        const self = PODS[0]!;
        const node = lab.cluster.info.nodes.find((n) => n.name === podNode.get(self))!;
        const local = PODS.filter((p) => podNode.get(p) === node.name);
        assert.ok(local.includes(self));
        const [host, port] =
          what === "externalIP" ? [externalIp, 80] : [node.addresses.InternalIP, LOCAL_PORT];
        // The Pod's packets enter its own node (its gateway): rr over that node's Pods only.
        const got = await until(`${self} → ${host}:${port} answered by ${local.join()}`, async () => {
          const a = await fromPod(self, host, port);
          return a.join() === local.join() ? a : undefined;
        }).catch(async () => fromPod(self, host, port));
        assert.deepEqual(got, local, "every connection answered, the Pod itself included");
      });
    }

    it("hairpin through the ClusterIP of a Service set to mode: dnat: the Pod is answered, by itself too", async () => {
      const farm = await until("the dnat farm", () => lab.farm("default.direct.http"));
      assert.equal((farm as { mode?: string }).mode, "dnat");
      const vip = await lab.clusterIP("direct");
      const self = PODS[0]!;
      const got = await until(`${self} → ${vip}:80 answered by every Pod`, async () => {
        const a = await fromPod(self, vip, 80);
        return a.join() === PODS.join() ? a : undefined;
      }).catch(async () => fromPod(self, vip, 80));
      assert.deepEqual(got, PODS, "rr over all four, the Pod itself included, none failed");
    });
  },
);
