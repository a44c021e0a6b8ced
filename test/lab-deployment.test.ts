// A new user's first steps, from the original kube-nftlb README: `kubectl apply` of its
// deployment.yaml (2 replicas, nginx:alpine, no containerPort: as written) and service.yaml in the
// lab gives two Pods made by a ReplicaSet, both behind the Service in nftlb, and round-robin over
// real connections from the client namespace on the port nobody declared, with an Event on each
// Pod saying the lab answers there; its annotations-service.yaml turns the farm to hash-srcip;
// `kubectl scale` changes the backends; deleting the Deployment empties the farm; in the
// original's order, service.yaml alone is a farm with no backends and a refused connection.
import assert from "node:assert/strict";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { count, startLab, whyNoLab, type Lab } from "./lab-fixture.ts";
import { until } from "./until.ts";

const skip = whyNoLab();
const EXAMPLE = path.join(import.meta.dirname, "..", "examples", "lab", "upstream");
const FARM = "default.my-service.http";

describe("lab: the upstream README's Deployment", { skip: skip ?? false, timeout: 240_000 }, () => {
  let lab: Lab;
  let vip = "";
  const answers = async (n: number) => {
    const out: string[] = [];
    for (let i = 0; i < n; i++) {
      const p = await lab.cluster.traffic.tcp(vip, 8080, { timeoutMs: 1000 });
      out.push(p.ok ? p.answer : `(${p.error})`);
    }
    return out;
  };
  const podNames = async () =>
    (await lab.k(["get", "pods", "-l", "app=front", "-o", "jsonpath={.items[*].metadata.name}"]))
      .split(/\s+/)
      .filter((n) => n !== "")
      .sort();
  /** the farm's backends once they are exactly the Deployment's running Pods */
  const backendsArePods = async (n: number) => {
    const names = await podNames();
    const farm = await lab.farm(FARM);
    const backends = (farm?.backends ?? []).map((b) => b.name).sort();
    return names.length === n && JSON.stringify(backends) === JSON.stringify(names) ? names : undefined;
  };

  before(async () => {
    lab = await startLab({ terminationDelayMs: 500 });
  });
  after(async () => {
    await lab?.stop();
  });

  it("kubectl apply -f deployment.yaml service.yaml; rollout status succeeds", async () => {
    const out = await lab.kubectl(["apply", "-f", EXAMPLE]);
    assert.equal(out.code, 0, out.stderr);
    assert.equal(out.stderr, "", "no warning: the lab runs Deployments");
    assert.match(out.stdout, /deployment.apps\/lower-prio created/);
    const r = await lab.kubectl(["rollout", "status", "deployment/lower-prio", "--timeout=60s"]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /deployment "lower-prio" successfully rolled out/);
    vip = await lab.clusterIP("my-service");
  });

  it("two Pods named <deployment>-<hash>-<suffix>, Running and Ready, with pod IPs", async () => {
    const pods = JSON.parse(await lab.k(["get", "pods", "-l", "app=front", "-o", "json"])) as {
      items: {
        metadata: { name: string; labels: Record<string, string>; ownerReferences: { kind: string }[] };
        status: { phase: string; podIP?: string; conditions: { type: string; status: string }[] };
      }[];
    };
    assert.equal(pods.items.length, 2);
    for (const p of pods.items) {
      const hash = p.metadata.labels["pod-template-hash"] ?? "";
      assert.match(p.metadata.name, new RegExp(`^lower-prio-${hash}-[bcdfghjklmnpqrstvwxz2456789]{5}$`));
      assert.deepEqual(
        p.metadata.ownerReferences.map((o) => o.kind),
        ["ReplicaSet"],
      );
      assert.equal(p.status.phase, "Running");
      assert.ok(p.status.podIP);
      assert.equal(p.status.conditions.find((c) => c.type === "Ready")?.status, "True");
    }
  });

  it("both Pods are the farm's backends; real connections round-robin over them", async () => {
    const names = await until("the farm's backends = the two Pods", () => backendsArePods(2));
    await until("both Pods answering", async () => {
      const a = await answers(4);
      return names.every((n) => a.includes(n)) ? a : undefined;
    });
    assert.deepEqual(count(await answers(20)), Object.fromEntries(names.map((n) => [n, 10])));
  });

  it("kubectl describe pod says the lab answers on the undeclared port 80 the Service targets", async () => {
    const [pod = ""] = await podNames();
    const out = await lab.k(["describe", "pod", pod]);
    assert.match(
      out,
      /Normal\s+UndeclaredPort\s+.*Service default\/my-service targets port 80\/TCP, which no container/s,
    );
    const events = JSON.parse(
      await lab.k([
        "get",
        "events",
        "--field-selector",
        `involvedObject.name=${pod},reason=UndeclaredPort`,
        "-o",
        "json",
      ]),
    ) as { items: { involvedObject: { kind: string }; source: { component: string } }[] };
    assert.equal(events.items.length, 1, "one Event per port, not one per reconcile");
    assert.equal(events.items[0]?.involvedObject.kind, "Pod");
  });

  it("kubectl scale to 3 adds a backend; to 1 leaves one", async () => {
    await lab.k(["scale", "deployment/lower-prio", "--replicas=3"]);
    await lab.k(["rollout", "status", "deployment/lower-prio", "--timeout=60s"]);
    const three = await until("three backends", () => backendsArePods(3));
    await until("three Pods answering", async () => {
      const a = await answers(6);
      return three.every((n) => a.includes(n)) ? a : undefined;
    });
    assert.deepEqual(count(await answers(30)), Object.fromEntries(three.map((n) => [n, 10])));
    await lab.k(["scale", "deployment/lower-prio", "--replicas=1"]);
    const [one] = await until("one backend", () => backendsArePods(1));
    await until("only the remaining Pod answering", async () => {
      const a = await answers(4);
      return a.every((x) => x === one) ? a : undefined;
    });
  });

  it("the README's annotations-service.yaml: hash-srcip, each client address sticks to one Pod", async () => {
    const out = await lab.kubectl(["apply", "-f", path.join(EXAMPLE, "annotations")]);
    assert.equal(out.code, 0, out.stderr);
    assert.match(out.stdout, /service\/my-service configured/);
    await until("the farm hashes by source address", async () => {
      const f = await lab.farm(FARM);
      return f?.scheduler === "hash" && f["sched-param"]?.trim() === "srcip" ? f : undefined;
    });
    const chosen = new Set<string>();
    for (const from of lab.cluster.info.client.addresses) {
      const got = new Set<string>();
      for (let i = 0; i < 6; i++) {
        const p = await lab.cluster.traffic.tcp(vip, 8080, { timeoutMs: 1000, from });
        got.add(p.ok ? p.answer : `(${p.error})`);
      }
      assert.equal(got.size, 1, `${from}: ${[...got].join(" ")}`);
      chosen.add([...got][0] ?? "");
    }
    const names = await podNames();
    assert.ok(
      [...chosen].every((c) => names.includes(c)),
      [...chosen].join(" "),
    );
  });

  it("deleting the Deployment removes its Pods and empties the farm", async () => {
    await lab.k(["delete", "deployment", "lower-prio"]);
    await until("no Pods and no backends", async () =>
      (await podNames()).length === 0 && ((await lab.farm(FARM))?.backends ?? []).length === 0
        ? true
        : undefined,
    );
    assert.equal((await lab.k(["get", "replicasets", "-o", "name"])).trim(), "");
  });

  it("in the original README's order: service.yaml alone is a farm with no backends and a refused connection; deployment.yaml then serves", async () => {
    await lab.k(["delete", "service", "my-service"]);
    await until("the farm gone", async () => ((await lab.farm(FARM)) === undefined ? true : undefined));
    await lab.k(["apply", "-f", path.join(EXAMPLE, "service.yaml")]);
    vip = await lab.clusterIP("my-service");
    // The README shows this farm with "backends": []; a connection is refused at once, as
    // kube-proxy refuses a Service without endpoints, not left to time out.
    const farm = await until("the farm, with no backends", async () => {
      const f = await lab.farm(FARM);
      return f !== undefined && (f.backends ?? []).length === 0 ? f : undefined;
    });
    assert.equal(farm.scheduler, "rr");
    const refused = await until("a refused connection", async () => {
      const p = await lab.cluster.traffic.tcp(vip, 8080, { timeoutMs: 1000 });
      return !p.ok && /ECONNREFUSED/.test(p.error) ? p : undefined;
    });
    assert.equal(refused.ok, false);
    const slices = await lab.k([
      "get",
      "endpointslices",
      "-l",
      "kubernetes.io/service-name=my-service",
      "-o",
      "jsonpath={.items[*].endpoints}",
    ]);
    assert.match(slices.trim(), /^(\[\])?$/, "no endpoints: what kubectl shows the user");
    await lab.k(["apply", "-f", path.join(EXAMPLE, "deployment.yaml")]);
    await lab.k(["rollout", "status", "deployment/lower-prio", "--timeout=60s"]);
    const names = await until("the farm's backends = the two Pods", () => backendsArePods(2));
    await until("both Pods answering on the undeclared port", async () => {
      const a = await answers(4);
      return names.every((n) => a.includes(n)) ? a : undefined;
    });
    assert.deepEqual(count(await answers(20)), Object.fromEntries(names.map((n) => [n, 10])));
  });
});
