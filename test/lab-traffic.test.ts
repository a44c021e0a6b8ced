// The lab end to end: kubectl applies Pods and a Service; the pod controller gives each Pod a
// network namespace, the EndpointSlice controller writes slices, the webhook admits, the syncer
// programs the real nftlb; real connections from the client namespace reach exactly the ready
// Pods, and a deleted Pod stops receiving new connections while it is still terminating.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { count, podYaml, serviceYaml, startLab, whyNoLab, type Lab } from "./lab-fixture.ts";
import { until } from "./until.ts";

const skip = whyNoLab();
const SCHED = "service.kubernetes.io/kube-nftlb-load-balancer-scheduler";

describe("lab: Pods, Service, traffic", { skip: skip ?? false, timeout: 180_000 }, () => {
  let lab: Lab;
  let vip = "";
  /** Pod name → the node the lab scheduled it to (read in the first test). */
  let podNodes = new Map<string, string>();
  const answers = async (n: number, proto: "tcp" | "udp" = "tcp") => {
    const out: string[] = [];
    for (let i = 0; i < n; i++) {
      const p =
        proto === "tcp"
          ? await lab.cluster.traffic.tcp(vip, 80, { timeoutMs: 1000 })
          : await lab.cluster.traffic.udp(vip, 53, { timeoutMs: 1000 });
      out.push(p.ok ? p.answer : `(${p.error})`);
    }
    return out;
  };
  const only = (got: string[], want: string[]) =>
    want.every((w) => got.includes(w)) && got.every((g) => want.includes(g));

  before(async () => {
    lab = await startLab({ terminationDelayMs: 60_000 });
    await lab.k(
      ["apply", "-f", "-"],
      [
        podYaml("web-0", { app: "web" }),
        podYaml("web-1", { app: "web" }),
        podYaml("web-2", { app: "web" }, { "lab.kube-nftlb.io/ready": "false" }),
        podYaml("other", { app: "other" }),
        // Garbage the lab's kubelet must survive: no ports, an SCTP port, a bad readiness value.
        `apiVersion: v1
kind: Pod
metadata: { name: odd, labels: { app: odd }, annotations: { lab.kube-nftlb.io/ready: "maybe" } }
spec:
  containers:
    - { name: a, image: x }
    - { name: b, image: x, ports: [{ containerPort: 7000, protocol: SCTP }] }
---`,
        serviceYaml("web", { app: "web" }),
      ].join("\n"),
    );
    vip = await lab.clusterIP("web");
  });
  after(async () => {
    await lab?.stop();
  });

  it("Pods get a pod IP in the pod range, a node, Running and Ready from the annotation", async () => {
    const pods = await until("the five Pods Running with IPs", async () => {
      const list = JSON.parse(await lab.k(["get", "pods", "-o", "json"])) as {
        items: {
          metadata: { name: string; finalizers?: string[] };
          spec: { nodeName?: string };
          status: {
            phase?: string;
            podIP?: string;
            conditions?: { type: string; status: string; reason?: string; message?: string }[];
          };
        }[];
      };
      return list.items.length === 5 && list.items.every((p) => p.status.podIP) ? list.items : undefined;
    });
    const nodes = new Map(lab.cluster.info.nodes.map((n) => [n.name, n.podCIDR.replace(/0\/24$/, "")]));
    for (const p of pods) {
      assert.equal(p.status.phase, "Running");
      // Scheduled to a lab node, with an IP from that node's pod range.
      const range = nodes.get(p.spec.nodeName ?? "");
      assert.ok(range !== undefined, `${p.metadata.name} on node ${p.spec.nodeName}`);
      assert.ok(p.status.podIP?.startsWith(range), `${p.metadata.name} ${p.status.podIP} in ${range}0/24`);
      const ready = p.status.conditions?.find((c) => c.type === "Ready")?.status;
      assert.equal(ready, ["web-2", "odd"].includes(p.metadata.name) ? "False" : "True", p.metadata.name);
    }
    assert.equal(new Set(pods.map((p) => p.status.podIP)).size, 5, "every Pod has its own IP");
    assert.equal(new Set(pods.map((p) => p.spec.nodeName)).size, nodes.size, "Pods on every node");
    podNodes = new Map(pods.map((p) => [p.metadata.name, p.spec.nodeName ?? ""]));
    const odd = pods
      .find((p) => p.metadata.name === "odd")
      ?.status.conditions?.find((c) => c.type === "Ready");
    assert.equal(odd?.reason, "LabBadAnnotation");
    assert.equal(odd?.message, 'lab.kube-nftlb.io/ready must be "true" or "false", got "maybe"');
  });

  it("the EndpointSlice is written as the real controller writes it", async () => {
    const slice = await until("web's EndpointSlice with three endpoints", async () => {
      const l = JSON.parse(
        await lab.k(["get", "endpointslices", "-l", "kubernetes.io/service-name=web", "-o", "json"]),
      ) as {
        items: {
          metadata: {
            generateName?: string;
            labels: Record<string, string>;
            annotations?: Record<string, string>;
            ownerReferences?: { kind: string; name: string; controller?: boolean }[];
          };
          endpoints?: { conditions: { ready: boolean }; targetRef: { name: string }; nodeName?: string }[];
          ports: { name: string; port: number; protocol: string }[];
        }[];
      };
      return l.items.length === 1 && l.items[0]?.endpoints?.length === 3 ? l.items[0] : undefined;
    });
    assert.equal(slice.metadata.generateName, "web-");
    assert.equal(
      slice.metadata.labels["endpointslice.kubernetes.io/managed-by"],
      "endpointslice-controller.k8s.io",
    );
    assert.ok(
      !Number.isNaN(
        Date.parse(slice.metadata.annotations?.["endpoints.kubernetes.io/last-change-trigger-time"] ?? ""),
      ),
    );
    assert.deepEqual(
      slice.metadata.ownerReferences?.map((o) => [o.kind, o.name, o.controller]),
      [["Service", "web", true]],
    );
    assert.deepEqual(
      slice.ports.map((p) => [p.name, p.port, p.protocol]).sort(),
      [
        ["dns", 5353, "UDP"],
        ["http", 8080, "TCP"],
      ],
      "named targetPorts resolved against the Pods' container ports",
    );
    const ready = Object.fromEntries(
      (slice.endpoints ?? []).map((e) => [e.targetRef.name, e.conditions.ready]),
    );
    assert.deepEqual(ready, { "web-0": true, "web-1": true, "web-2": false });
    assert.ok(slice.endpoints?.every((e) => e.nodeName === podNodes.get(e.targetRef.name)));
  });

  it("TCP and UDP from the client namespace reach exactly the ready Pods, round-robin", async () => {
    const got = await until("both ready Pods answering", async () => {
      const a = await answers(6);
      return only(a, ["web-0", "web-1"]) ? a : undefined;
    });
    assert.ok(got);
    const tcp = count(await answers(20));
    assert.deepEqual(tcp, { "web-0": 10, "web-1": 10 }, "rr: exactly even, web-2 (unready) and other never");
    const udp = count(await answers(10, "udp"));
    assert.deepEqual(udp, { "web-0": 5, "web-1": 5 });
  });

  it("a Pod turning ready starts receiving traffic", async () => {
    await lab.k(["annotate", "pod", "web-2", "lab.kube-nftlb.io/ready=true", "--overwrite"]);
    await until("web-2 answering", async () => (await answers(6)).includes("web-2"));
    assert.deepEqual(count(await answers(30)), { "web-0": 10, "web-1": 10, "web-2": 10 });
  });

  it("the webhook refuses a bad annotation with the reason; the farm keeps its scheduler", async () => {
    const r = await lab.kubectl(["annotate", "svc", "web", `${SCHED}=round-robin`, "--overwrite"]);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /denied the request: .*invalid value "round-robin".*Valid values: rr, symhash/);
    assert.equal((await lab.farm("default.web.http"))?.scheduler, "rr");
  });

  it("a deleted Pod stops receiving new connections while it is still terminating", async () => {
    await lab.k(["delete", "pod", "web-0", "--wait=false"]);
    await until("web-0 gone from the answers", async () => {
      const a = await answers(6);
      return a.every((x) => x === "web-1" || x === "web-2") ? a : undefined;
    });
    // Traffic leaves web-0 as soon as its backend is set down; the entry itself is deleted in a
    // later request, and that rewrite restarts round robin's counter. Count once nftlb holds only
    // the two ready Pods, so the even split below is about a settled farm.
    await until("web-0's backend deleted from the farm", async () => {
      const names = ((await lab.farm("default.web.http"))?.backends ?? []).map((b) => b.name).sort();
      return names?.join(",") === "web-1,web-2" ? names : undefined;
    });
    assert.deepEqual(count(await answers(20)), { "web-1": 10, "web-2": 10 });
    // Still terminating (finalizer held for 60 s): traffic left because of the EndpointSlice,
    // not because the Pod's network went away.
    const pod = JSON.parse(await lab.k(["get", "pod", "web-0", "-o", "json"])) as {
      metadata: { deletionTimestamp?: string };
    };
    assert.ok(pod.metadata.deletionTimestamp, "web-0 is terminating");
    assert.ok(lab.cluster.pods.sandboxes().has("default/web-0"), "web-0's namespace still exists");
    const slice = await lab.k([
      "get",
      "endpointslices",
      "-l",
      "kubernetes.io/service-name=web",
      "-o",
      'jsonpath={range .items[*].endpoints[*]}{.targetRef.name}={.conditions.terminating}{"\\n"}{end}',
    ]);
    assert.match(slice, /^web-0=true$/m);
  });

  it("trafficDistribution: PreferClose in one zone → zone hints in the slice (as the real controller), still served", async () => {
    // One zone for every node (two zones, one per node: test/lab-proxy-health.test.ts).
    for (const n of lab.cluster.info.nodes)
      await lab.k(["label", "node", n.name, "topology.kubernetes.io/zone=zone-a"]);
    await lab.k([
      "patch",
      "svc",
      "web",
      "--type=merge",
      "-p",
      '{"spec":{"trafficDistribution":"PreferClose"}}',
    ]);
    const hinted = () =>
      lab.k([
        "get",
        "endpointslices",
        "-l",
        "kubernetes.io/service-name=web",
        "-o",
        'jsonpath={range .items[*].endpoints[*]}{.targetRef.name}={.zone}/{.hints.forZones[*].name}{"\\n"}{end}',
      ]);
    const lines = await until("zone hints on the ready endpoints", async () => {
      const out = await hinted();
      return /^web-1=zone-a\/zone-a$/m.test(out) ? out : undefined;
    });
    // Every ready endpoint is hinted for the node's zone: the syncer keeps all of them.
    assert.match(lines, /^web-2=zone-a\/zone-a$/m);
    assert.deepEqual(count(await answers(20)), { "web-1": 10, "web-2": 10 });
    await lab.k([
      "patch",
      "svc",
      "web",
      "--type=json",
      "-p",
      '[{"op":"remove","path":"/spec/trafficDistribution"}]',
    ]);
    await until("the hints removed", async () => (/\/zone-a/.test(await hinted()) ? undefined : true));
  });
});
