// The webhook's NetworkPolicy (deploy/components/webhook-network-policy, applied by
// deploy/overlays/webhook-network-policy): it selects the webhook pods, opens their HTTPS port to
// the API server's addresses only and their probe port to Prometheus's namespace only, opens no
// other port, lets the webhook reach nothing, and leaves the rest of deploy/ as it was.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { find, kubectlMissing, render, workloads, type KObject } from "./deploy-render.ts";

const missing = kubectlMissing();
const OVERLAY = "deploy/overlays/webhook-network-policy";

interface Peer {
  ipBlock?: { cidr: string; except?: string[] };
  namespaceSelector?: { matchLabels?: Record<string, string> };
  podSelector?: unknown;
}
interface Rule {
  ports?: { protocol?: string; port: number | string }[];
  from?: Peer[];
}
interface PolicySpec {
  podSelector: { matchLabels: Record<string, string> };
  policyTypes: string[];
  ingress: Rule[];
  egress: unknown[];
}

describe("the webhook's NetworkPolicy", { skip: missing }, () => {
  const objects = missing ? [] : render(OVERLAY);
  const policies = objects.filter((o) => o.kind === "NetworkPolicy");
  const spec = (policies[0]?.spec ?? {}) as PolicySpec;
  const all = workloads(objects);
  const webhook = () => all.find((w) => w.object.metadata.name === "kube-nftlb-webhook")!;
  const port = (name: string) =>
    webhook().pod.containers[0]!.ports!.find((p) => p.name === name)!.containerPort;

  it("is one policy, validating against the Kubernetes schema, that selects exactly the webhook's pods", async () => {
    assert.equal(policies.length, 1);
    const { NetworkPolicy } = await import("kubernetes-models/networking.k8s.io/v1");
    new NetworkPolicy(policies[0]).validate();
    assert.deepEqual(spec.podSelector.matchLabels, webhook().labels);
    for (const w of all.filter((x) => x !== webhook())) {
      const selected = Object.entries(spec.podSelector.matchLabels).every(([k, v]) => w.labels?.[k] === v);
      assert.ok(!selected, `it also selects ${w.object.metadata.name}`);
    }
  });

  it("isolates both directions and lets the webhook open no connection at all", () => {
    assert.deepEqual([...spec.policyTypes].sort(), ["Egress", "Ingress"]);
    assert.deepEqual(spec.egress, []);
  });

  it("opens the HTTPS port to IP blocks only (the API server's), never to everyone", () => {
    const https = spec.ingress.filter((r) => r.ports?.some((p) => p.port === port("https")));
    assert.equal(https.length, 1);
    assert.deepEqual(https[0]!.ports, [{ protocol: "TCP", port: port("https") }]);
    const from = https[0]!.from ?? [];
    assert.ok(from.length > 0, "no `from`: open to every source");
    for (const peer of from) {
      assert.deepEqual(
        Object.keys(peer),
        ["ipBlock"],
        "a pod or namespace selector on the API server's port",
      );
      assert.ok(!["0.0.0.0/0", "::/0"].includes(peer.ipBlock!.cidr), `open to ${peer.ipBlock!.cidr}`);
    }
  });

  it("opens the probe port (/metrics) to one namespace; kubelet's probes need no rule", () => {
    const probes = spec.ingress.filter((r) => r.ports?.some((p) => p.port === port("probes")));
    assert.equal(probes.length, 1);
    const from = probes[0]!.from ?? [];
    assert.equal(from.length, 1);
    assert.ok(from[0]!.namespaceSelector?.matchLabels?.["kubernetes.io/metadata.name"]);
    assert.equal(from[0]!.podSelector, undefined);
    assert.ok(webhook().pod.containers[0]!.readinessProbe?.httpGet?.port === "probes");
  });

  it("opens no other port: every rule names its ports", () => {
    for (const rule of spec.ingress) {
      assert.ok(rule.ports && rule.ports.length > 0, "a rule without ports opens them all");
      for (const p of rule.ports) assert.ok([port("https"), port("probes")].includes(Number(p.port)));
    }
  });

  it("the rest of deploy/ is unchanged by it", () => {
    const base = render("deploy");
    const same = (o: KObject) => find(base, o.kind, o.metadata.name);
    assert.equal(objects.length, base.length + 1);
    for (const o of objects.filter((x) => x.kind !== "NetworkPolicy")) assert.deepEqual(o, same(o));
  });
});
