// kube-proxy's node-facing behaviour on the two-node lab (real Pods, the lab's EndpointSlice
// controller, each node's own syncer and nftlb, kubectl):
// - healthCheckNodePort of a LoadBalancer Service with externalTrafficPolicy: Local answers 200 on
//   the node with the Pod and 503 on the other, asked over HTTP from the client namespace; when
//   the endpoint moves to the other node both answers flip within a second of the EndpointSlice
//   saying so (a deadline on the poll; the time is printed, not asserted);
// - spec.trafficDistribution: PreferClose with node 1 in zone-a and node 2 in zone-b: traffic from
//   each node to the ClusterIP stays on its zone's Pod; once node 2 loses its zone label its
//   endpoint loses its hint, and kube-proxy's rule (every endpoint hinted) no longer holds: both
//   nodes spread over both Pods.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { startClientAgent, type ClientAgent } from "../lab/net/client.ts";
import { startLab, whyNoLab, type Lab } from "./lab-fixture.ts";
import { until } from "./until.ts";

const skip = whyNoLab();
const HC_PORT = 32100;
const ZONE = "topology.kubernetes.io/zone";

const pinnedPod = (name: string, app: string, node: string) => `
apiVersion: v1
kind: Pod
metadata: { name: ${name}, labels: { app: ${app} } }
spec:
  nodeName: ${node}
  containers:
    - name: app
      image: lab.kube-nftlb.io/pod-server
      ports: [{ name: http, containerPort: 8080 }]
---`;

describe(
  "two-node lab: health-check node ports and topology",
  { skip: skip ?? false, timeout: 180_000 },
  () => {
    let lab: Lab;
    let nodes: { name: string; netns: string; ip: string }[] = [];
    const fromNodes: ClientAgent[] = [];

    /** HTTP from the client namespace to a node's health-check port: [status, body]. */
    const hc = (ip: string) =>
      new Promise<[number, string]>((resolve) => {
        execFile(
          "ip",
          [
            "netns",
            "exec",
            lab.cluster.info.client.netns,
            "curl",
            "-s",
            "-m",
            "1",
            "-w",
            "\n%{http_code}",
            `http://${ip}:${HC_PORT}/`,
          ],
          (_err, stdout) => {
            const i = stdout.lastIndexOf("\n");
            resolve([Number(stdout.slice(i + 1)) || 0, stdout.slice(0, Math.max(0, i))]);
          },
        );
      });
    const codes = async () => [(await hc(nodes[0]!.ip))[0], (await hc(nodes[1]!.ip))[0]];
    /** The Pods answering at ip:80 from node i over n fresh connections. */
    const answers = async (i: number, ip: string, n = 10) => {
      const out = new Set<string>();
      for (let k = 0; k < n; k++) {
        const p = await fromNodes[i]!.tcp(ip, 80, { timeoutMs: 1000 });
        out.add(p.ok ? p.answer.trim() : `(${p.error})`);
      }
      return [...out].sort().join(",");
    };
    const slice = async (svc: string) =>
      lab.k([
        "get",
        "endpointslices",
        "-l",
        `kubernetes.io/service-name=${svc}`,
        "-o",
        'jsonpath={range .items[*].endpoints[*]}{.targetRef.name}@{.nodeName}={.conditions.ready}/{.hints.forZones[*].name}{"\\n"}{end}',
      ]);

    before(async () => {
      lab = await startLab();
      nodes = lab.cluster.info.nodes.map((n) => ({
        name: n.name,
        netns: n.netns,
        ip: n.addresses.InternalIP,
      }));
      assert.equal(nodes.length, 2, "the two-node lab");
      for (const n of lab.cluster.info.nodes) fromNodes.push(await startClientAgent(n.netns));
    });
    after(async () => {
      for (const t of fromNodes) await t.close();
      await lab?.stop();
    });

    it("healthCheckNodePort: 200 where the Pod is, 503 on the other node; flips when it moves", async () => {
      await lab.k(
        ["apply", "-f", "-"],
        [
          pinnedPod("lb-a", "lb", nodes[0]!.name),
          `apiVersion: v1
kind: Service
metadata: { name: lb }
spec:
  type: LoadBalancer
  externalTrafficPolicy: Local
  healthCheckNodePort: ${HC_PORT}
  selector: { app: lb }
  ports: [{ name: http, port: 80, targetPort: http, protocol: TCP }]
`,
        ].join("\n"),
      );
      await until("200 on node 1, 503 on node 2", async () => (await codes()).join() === "200,503");
      const [, body] = await hc(nodes[0]!.ip);
      assert.deepEqual(JSON.parse(body), {
        service: { namespace: "default", name: "lb" },
        localEndpoints: 1,
        serviceProxyHealthy: true,
      });
      assert.equal((JSON.parse((await hc(nodes[1]!.ip))[1]) as { localEndpoints: number }).localEndpoints, 0);

      // The endpoint moves: a Pod on node 2, the one on node 1 deleted.
      await lab.k(["apply", "-f", "-"], pinnedPod("lb-b", "lb", nodes[1]!.name));
      await lab.k(["delete", "pod", "lb-a", "--wait=false"]);
      await until("the EndpointSlice has only node 2's Pod ready", async () => {
        const s = await slice("lb");
        return s.includes(`lb-b@${nodes[1]!.name}=true`) && !/^lb-a@[^=]*=true/m.test(s);
      });
      const started = performance.now();
      await until("503 on node 1, 200 on node 2", async () => (await codes()).join() === "503,200", 1000);
      console.log(
        `# healthCheckNodePort flipped ${Math.round(performance.now() - started)} ms after the slice`,
      );
    });

    it("PreferClose: each node's traffic stays in its zone; spreads once a zone label is gone", async () => {
      await lab.k(["label", "node", nodes[0]!.name, `${ZONE}=zone-a`]);
      await lab.k(["label", "node", nodes[1]!.name, `${ZONE}=zone-b`]);
      await lab.k(
        ["apply", "-f", "-"],
        [
          pinnedPod("near-a", "near", nodes[0]!.name),
          pinnedPod("near-b", "near", nodes[1]!.name),
          `apiVersion: v1
kind: Service
metadata: { name: near }
spec:
  trafficDistribution: PreferClose
  selector: { app: near }
  ports: [{ name: http, port: 80, targetPort: http, protocol: TCP }]
`,
        ].join("\n"),
      );
      const vip = await lab.clusterIP("near");
      await until("both endpoints hinted for their zones", async () => {
        const s = await slice("near");
        return (
          s.includes(`near-a@${nodes[0]!.name}=true/zone-a`) &&
          s.includes(`near-b@${nodes[1]!.name}=true/zone-b`)
        );
      });
      await until("node 1 → near-a only", async () => (await answers(0, vip)) === "near-a");
      await until("node 2 → near-b only", async () => (await answers(1, vip)) === "near-b");

      await lab.k(["label", "node", nodes[1]!.name, `${ZONE}-`]);
      await until("near-b's hint gone", async () =>
        (await slice("near")).includes(`near-b@${nodes[1]!.name}=true/\n`),
      );
      await until("node 1 → both Pods", async () => (await answers(0, vip)) === "near-a,near-b");
      await until("node 2 → both Pods", async () => (await answers(1, vip)) === "near-a,near-b");
    });
  },
);
