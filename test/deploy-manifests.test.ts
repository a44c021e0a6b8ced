// deploy/ as an operator applies it: every kustomization renders with the real kubectl, every
// object validates offline against the Kubernetes OpenAPI schemas (kubernetes-models: ajv
// validators generated from the upstream OpenAPI documents), and the security properties the
// operator is promised hold in every rendering.
import { before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parse } from "yaml";
import { estimateMemory, MEMORY_HEADROOM } from "../syncer/capacity.ts";
import { parseSize } from "../syncer/config.ts";
import {
  ROOT,
  RENDERS,
  allContainers,
  daemonSet,
  find,
  kubectlMissing,
  packageVersion,
  render,
  workloads,
  type KObject,
  type RenderName,
} from "./deploy-render.ts";

const missing = kubectlMissing();
const rendered = new Map<RenderName, KObject[]>();
before(() => {
  if (missing) return;
  for (const r of RENDERS) rendered.set(r, render(r));
});
const each = (fn: (objects: KObject[], name: RenderName) => void) => () => {
  for (const r of RENDERS) fn(rendered.get(r)!, r);
};

/** The kubernetes-models class for an object, e.g. apps/v1 DaemonSet. */
async function modelFor(o: KObject): Promise<{ validate(): void } | string> {
  const group = o.apiVersion.includes("/") ? o.apiVersion : `${o.apiVersion}`;
  let mod: Record<string, unknown>;
  try {
    mod = (await import(`kubernetes-models/${group}`)) as Record<string, unknown>;
  } catch {
    return `no schema for apiVersion ${o.apiVersion}`;
  }
  const Model = mod[o.kind] as (new (data: unknown) => { validate(): void }) | undefined;
  return Model ? new Model(o) : `no schema for ${o.apiVersion} ${o.kind}`;
}

async function schemaErrors(o: KObject): Promise<string | undefined> {
  const m = await modelFor(o);
  if (typeof m === "string") return m;
  try {
    m.validate();
    return undefined;
  } catch (err) {
    return (err as Error).message;
  }
}

describe("deploy/ renders and validates", { skip: missing }, () => {
  it("every kustomization renders with kubectl kustomize", () => {
    for (const r of RENDERS) assert.ok(rendered.get(r)!.length > 0, `${r} rendered nothing`);
  });

  it("every rendered object validates against the Kubernetes schemas", async () => {
    for (const r of RENDERS) {
      for (const o of rendered.get(r)!) {
        const err = await schemaErrors(o);
        assert.equal(err, undefined, `${r}: ${o.kind} ${o.metadata.name}: ${err}`);
      }
    }
  });

  it("the parts of the staged install render alone, validate, and carry the same images", async () => {
    const full = rendered.get("deploy")!;
    for (const part of ["deploy/node", "deploy/admission", "deploy/certs"]) {
      const objects = render(part);
      assert.ok(objects.length > 0, part);
      for (const o of objects) {
        assert.equal(await schemaErrors(o), undefined, `${part}: ${o.kind} ${o.metadata.name}`);
        // Applied alone or as part of deploy/, an object is the same object.
        const same = full.find((x) => x.kind === o.kind && x.metadata.name === o.metadata.name);
        assert.deepEqual(o, same, `${part}: ${o.kind} ${o.metadata.name} differs from deploy/'s`);
      }
    }
  });

  it("the schema check rejects what kube-apiserver would (so the check above can fail)", async () => {
    const ds = structuredClone(find(rendered.get("deploy")!, "DaemonSet", "kube-nftlb-node"));
    const { nftlb } = daemonSet([ds]);
    nftlb.resources!.limits!.memory = "a lot";
    assert.match((await schemaErrors(ds)) ?? "", /memory/);
    const noSelector = structuredClone(ds);
    delete (noSelector.spec as Record<string, unknown>).selector;
    assert.match((await schemaErrors(noSelector)) ?? "", /selector/);
    assert.match((await schemaErrors({ ...ds, kind: "DaemonSett" })) ?? "", /no schema/);
  });

  it(
    "namespaced objects live in kube-nftlb, images carry the package version",
    each((objects, r) => {
      const version = packageVersion();
      for (const o of objects) {
        const clusterScoped =
          ["Namespace", "ClusterRole", "ClusterRoleBinding"].includes(o.kind) ||
          /WebhookConfiguration|AdmissionPolicy/.test(o.kind);
        if (!clusterScoped)
          assert.equal(o.metadata.namespace, "kube-nftlb", `${r}: ${o.kind} ${o.metadata.name}`);
      }
      for (const w of workloads(objects)) {
        for (const c of allContainers(w.pod)) {
          assert.match(
            c.image ?? "",
            new RegExp(`^ghcr\\.io/kube-nftlb/(kube-nftlb|nftlb):${version.replaceAll(".", "\\.")}$`),
            `${r}: ${w.object.metadata.name}/${c.name}`,
          );
        }
      }
    }),
  );

  it(
    "references resolve: service accounts, config maps, selectors",
    each((objects, r) => {
      const names = (kind: string) => objects.filter((o) => o.kind === kind).map((o) => o.metadata.name);
      for (const w of workloads(objects)) {
        if (w.pod.serviceAccountName)
          assert.ok(names("ServiceAccount").includes(w.pod.serviceAccountName), r);
        for (const v of w.pod.volumes ?? []) {
          const cm = (v.configMap as { name: string } | undefined)?.name;
          if (cm) assert.ok(names("ConfigMap").includes(cm), `${r}: ConfigMap ${cm}`);
        }
      }
      for (const b of objects.filter((o) => o.kind === "ClusterRoleBinding" || o.kind === "RoleBinding")) {
        for (const s of b.subjects as { kind: string; name: string }[]) {
          if (s.kind === "ServiceAccount")
            assert.ok(names("ServiceAccount").includes(s.name), `${r}: ${s.name}`);
        }
        const ref = b.roleRef as { kind: string; name: string };
        assert.ok(names(ref.kind).includes(ref.name), `${r}: ${ref.kind} ${ref.name}`);
      }
      for (const o of objects.filter((x) => x.kind === "Service" || x.kind === "PodDisruptionBudget")) {
        const spec = o.spec as {
          selector: Record<string, string> & { matchLabels?: Record<string, string> };
        };
        const selector = spec.selector.matchLabels ?? spec.selector;
        const matched = workloads(objects).filter((w) =>
          Object.entries(selector).every(([k, v]) => w.labels[k] === v),
        );
        assert.equal(
          matched.length,
          1,
          `${r}: ${o.kind} ${o.metadata.name} selects ${matched.length} workloads`,
        );
      }
    }),
  );
});

describe("deploy/ security properties", { skip: missing }, () => {
  it(
    "RBAC has no wildcards and the syncer reads only what a node proxy reads",
    each((objects, r) => {
      for (const role of objects.filter((o) => o.kind === "ClusterRole" || o.kind === "Role")) {
        for (const rule of role.rules as Record<string, string[] | undefined>[]) {
          for (const field of ["verbs", "resources", "apiGroups", "resourceNames", "nonResourceURLs"]) {
            for (const v of rule[field] ?? []) {
              assert.ok(!v.includes("*"), `${r}: ${role.kind} ${role.metadata.name} ${field} has "${v}"`);
            }
          }
        }
      }
      const syncer = find(objects, "ClusterRole", "kube-nftlb-syncer");
      const grants = (syncer.rules as { apiGroups: string[]; resources: string[]; verbs: string[] }[])
        .flatMap((x) =>
          x.apiGroups.flatMap((g) => x.resources.flatMap((res) => x.verbs.map((v) => `${g}/${res}:${v}`))),
        )
        .sort();
      assert.deepEqual(grants, [
        "/endpoints:list",
        "/endpoints:watch",
        "/events:create",
        "/events:patch",
        "/nodes:get",
        "/nodes:list",
        "/nodes:watch",
        "/services:list",
        "/services:watch",
        "discovery.k8s.io/endpointslices:list",
        "discovery.k8s.io/endpointslices:watch",
      ]);
    }),
  );

  it(
    "no container is privileged; all drop every capability, cannot escalate, have a read-only root",
    each((objects, r) => {
      for (const w of workloads(objects)) {
        assert.equal(
          w.pod.securityContext?.seccompProfile?.type,
          "RuntimeDefault",
          `${r}: ${w.object.metadata.name}`,
        );
        assert.ok(!w.pod.hostPID && !w.pod.hostIPC, r);
        for (const c of allContainers(w.pod)) {
          const at = `${r}: ${w.object.metadata.name}/${c.name}`;
          const sc = c.securityContext ?? {};
          assert.notEqual(sc.privileged, true, at);
          assert.equal(sc.allowPrivilegeEscalation, false, at);
          assert.equal(sc.readOnlyRootFilesystem, true, at);
          assert.deepEqual(sc.capabilities?.drop, ["ALL"], at);
        }
      }
    }),
  );

  it(
    "capabilities: exactly NET_ADMIN and NET_RAW for nftlb, NET_ADMIN for the node-rules and conntrack agents, none for anything else",
    each((objects, r) => {
      for (const w of workloads(objects)) {
        for (const c of allContainers(w.pod)) {
          const node = w.object.kind === "DaemonSet";
          const want =
            node && c.name === "nftlb"
              ? ["NET_ADMIN", "NET_RAW"]
              : node && (c.name === "rules" || c.name === "conntrack")
                ? ["NET_ADMIN"]
                : [];
          assert.deepEqual(c.securityContext?.capabilities?.add ?? [], want, `${r}: ${c.name}`);
        }
      }
    }),
  );

  it(
    "every container but nftlb and the node-rules and conntrack agents runs as a numeric non-root user",
    each((objects, r) => {
      for (const w of workloads(objects)) {
        for (const c of allContainers(w.pod)) {
          // uid 0 only to hold a capability (Kubernetes has no ambient capabilities).
          if (w.object.kind === "DaemonSet" && ["nftlb", "rules", "conntrack"].includes(c.name)) continue;
          const at = `${r}: ${w.object.metadata.name}/${c.name}`;
          const uid = c.securityContext?.runAsUser ?? w.pod.securityContext?.runAsUser;
          const nonRoot = c.securityContext?.runAsNonRoot ?? w.pod.securityContext?.runAsNonRoot;
          assert.equal(nonRoot, true, at);
          assert.ok(typeof uid === "number" && uid > 0, `${at}: runAsUser ${uid}`);
        }
      }
    }),
  );

  it(
    "every container has CPU and memory requests and limits; every long-running one both probes",
    each((objects, r) => {
      for (const w of workloads(objects)) {
        const jobLike = w.object.kind === "Job" || w.object.kind === "CronJob";
        for (const c of allContainers(w.pod)) {
          const at = `${r}: ${w.object.metadata.name}/${c.name}`;
          for (const kind of ["requests", "limits"] as const) {
            assert.ok(c.resources?.[kind]?.cpu && c.resources[kind].memory, `${at}: ${kind}`);
          }
          const init = w.pod.initContainers?.includes(c) ?? false;
          if (!init && !jobLike) assert.ok(c.livenessProbe && c.readinessProbe, `${at}: probes`);
        }
      }
    }),
  );

  it(
    "the webhook has no service-account token and no API access",
    each((objects, r) => {
      const deployment = objects.find(
        (o) => o.kind === "Deployment" && o.metadata.name === "kube-nftlb-webhook",
      );
      if (r === "deploy/overlays/validating-admission-policy") {
        assert.equal(deployment, undefined, "the VAP overlay runs no webhook server");
        return;
      }
      const [w] = workloads([deployment!]);
      assert.equal(w!.pod.automountServiceAccountToken, false);
      const sa = find(objects, "ServiceAccount", w!.pod.serviceAccountName!);
      assert.equal(sa.automountServiceAccountToken, false);
      assert.ok(!JSON.stringify(w!.pod.volumes).includes("serviceAccountToken"));
      const bound = objects.filter(
        (o) => o.kind.endsWith("Binding") && JSON.stringify(o.subjects).includes(`"${sa.metadata.name}"`),
      );
      assert.deepEqual(bound, []);
    }),
  );

  it(
    "the nftlb key is made per pod in memory, never written into a manifest",
    each((objects, r) => {
      assert.deepEqual(
        objects.filter((o) => o.kind === "Secret" && (o.data ?? o.stringData)),
        [],
        r,
      );
      const { pod, nftlb, syncer, key } = daemonSet(objects);
      const keyVolume = pod.volumes?.find((v) => v.name === "nftlb-key");
      assert.deepEqual(keyVolume?.emptyDir, { medium: "Memory", sizeLimit: "1Mi" });
      assert.match(key.args!.join("\n"), /head -c 32 \/dev\/urandom/);
      for (const c of allContainers(pod)) {
        for (const e of c.env ?? [])
          assert.ok(!/KEY/i.test(e.name) || e.value === undefined, `${c.name}: ${e.name}`);
      }
      // nftlb gets the key from the file through its environment, never as -k on its command line.
      assert.doesNotMatch(nftlb.args!.join(" "), /\s-k\s/);
      assert.ok(syncer.args!.includes("--nftlb-key-file=/run/kube-nftlb/key"));
      // Only the syncer holds an API token; the nftlb container mounts the key and nothing else.
      assert.deepEqual(
        nftlb.volumeMounts?.map((m) => [m.name, m.readOnly]),
        [["nftlb-key", true]],
      );
      assert.equal(pod.automountServiceAccountToken, false);
    }),
  );
});

describe("deploy/ node DaemonSet and webhook Deployment", { skip: missing }, () => {
  it(
    "the DaemonSet runs on every node, host network, node-critical, nftlb on loopback only",
    each((objects) => {
      const { pod, nftlb, syncer } = daemonSet(objects);
      assert.equal(pod.hostNetwork, true);
      assert.equal(pod.dnsPolicy, "Default");
      assert.deepEqual(pod.tolerations, [{ operator: "Exists" }]);
      assert.equal(pod.priorityClassName, "system-node-critical");
      assert.match(nftlb.args!.join(" "), /exec nftlb -H 127\.0\.0\.1 -P 5555 /);
      assert.ok(syncer.args!.includes("--nftlb-url=http://127.0.0.1:5555"));
      assert.ok(syncer.args!.includes("--node-name=$(NODE_NAME)"));
      assert.deepEqual(syncer.env?.find((e) => e.name === "NODE_NAME")?.valueFrom, {
        fieldRef: { fieldPath: "spec.nodeName" },
      });
      assert.equal(syncer.args![0], "syncer");
    }),
  );

  it(
    "nftlb's memory limit holds the 1,000 Services × 10 endpoints docs/operators.md sizes it for, under the syncer's refusal line",
    each((objects, r) => {
      const { nftlb } = daemonSet(objects);
      const limit = parseSize(String(nftlb.resources!.limits!.memory));
      assert.ok(limit, `${r}: nftlb's memory limit parses`);
      const need = estimateMemory(1_000 + 1, 1_000 * 10 + 1); // + the webhook's own farm
      assert.ok(
        need <= limit * MEMORY_HEADROOM,
        `${r}: estimate ${(need / 2 ** 20).toFixed(1)} MiB > ${(MEMORY_HEADROOM * 100).toFixed(0)}% of ${nftlb.resources!.limits!.memory}`,
      );
    }),
  );

  it(
    "the syncer's malloc maps blocks of 64 KiB and more on their own (MALLOC_MMAP_THRESHOLD_), so its socket reads give their memory back",
    each((objects, r) => {
      const { syncer } = daemonSet(objects);
      // bench/syncer-memory.ts at 10,000 Services: malloc's brk heap 17-18 MiB with it, 85-93 without.
      const value = syncer.env?.find((e) => e.name === "MALLOC_MMAP_THRESHOLD_")?.value;
      assert.equal(value, String(64 * 1024), `${r}: the syncer's MALLOC_MMAP_THRESHOLD_`);
    }),
  );

  it(
    "the syncer's V8: a small young generation, an old one sized by the container's limit, and gc exposed for the heap trim",
    each((objects, r) => {
      const { syncer } = daemonSet(objects);
      const options = (syncer.env?.find((e) => e.name === "NODE_OPTIONS")?.value ?? "").split(/\s+/);
      // bench/syncer-memory.ts at 10,000 Services: V8's default lets the young generation grow to
      // 128 MiB (64 MiB semi-spaces in Node 24) during the first LIST, and keeps it.
      assert.ok(options.includes("--max-semi-space-size=2"), `${r}: ${options.join(" ")}`);
      assert.ok(options.includes("--max-old-space-size-percentage=60"), `${r}: ${options.join(" ")}`);
      // cli/syncer.ts trims the heap once quiet only when gc is exposed (runtime/heap-trim.ts):
      // RSS 6 s after settling at 10,000 +78 to +95 MiB above idle with it, +146 to +182 without.
      assert.ok(options.includes("--expose-gc"), `${r}: ${options.join(" ")}`);
    }),
  );

  it("the proxy mode: replace in the base, alongside in the alongside-kube-proxy overlay", () => {
    const mode = (r: RenderName) =>
      daemonSet(rendered.get(r)!).syncer.env?.find((e) => e.name === "PROXY_MODE")?.value;
    assert.equal(mode("deploy"), "replace");
    assert.equal(mode("deploy/overlays/alongside-kube-proxy"), "alongside");
    assert.equal(mode("deploy/overlays/validating-admission-policy"), "replace");
    assert.ok(daemonSet(rendered.get("deploy")!).syncer.args!.includes("--proxy-mode=$(PROXY_MODE)"));
  });

  it("the syncer's health and metrics ports: kube-proxy's in replace mode, beside kube-proxy's alongside it", () => {
    const ports = (r: RenderName) => {
      const { syncer } = daemonSet(rendered.get(r)!);
      const flag = (f: string) => syncer.args!.find((a) => a.startsWith(`${f}=`))?.slice(f.length + 1);
      return {
        healthz: flag("--healthz-bind-address"),
        metrics: flag("--metrics-bind-address"),
        containerPort: syncer.ports?.find((p) => p.name === "healthz")?.containerPort,
        probes: [syncer.livenessProbe?.httpGet?.port, syncer.readinessProbe?.httpGet?.port],
      };
    };
    // Base: the settings file's kube-proxy ports (no flag overrides them).
    assert.deepEqual(ports("deploy"), {
      healthz: undefined,
      metrics: undefined,
      containerPort: 10256,
      probes: ["healthz", "healthz"],
    });
    assert.deepEqual(ports("deploy/overlays/alongside-kube-proxy"), {
      healthz: "0.0.0.0:10356",
      metrics: "127.0.0.1:10349",
      containerPort: 10356,
      probes: ["healthz", "healthz"],
    });
  });

  it("the webhook's proxy mode follows the syncer's, so it defaults only the Services kube-nftlb balances", () => {
    for (const r of ["deploy", "deploy/overlays/alongside-kube-proxy"] as const) {
      const [pod] = workloads([find(rendered.get(r)!, "Deployment", "kube-nftlb-webhook")]);
      const webhook = pod!.pod.containers[0]!;
      assert.ok(webhook.args!.includes("--proxy-mode=$(PROXY_MODE)"), r);
      const syncerMode = daemonSet(rendered.get(r)!).syncer.env?.find((e) => e.name === "PROXY_MODE")?.value;
      assert.equal(webhook.env?.find((e) => e.name === "PROXY_MODE")?.value, syncerMode, r);
    }
  });

  it("the syncer reads the webhook's defaults file, from the same ConfigMap, updated in place", () => {
    for (const r of RENDERS) {
      const objects = rendered.get(r)!;
      const { pod, syncer } = daemonSet(objects);
      const syncerConfig = objects.find(
        (o) => o.kind === "ConfigMap" && o.metadata.name.startsWith("kube-nftlb-syncer-config"),
      )!;
      const config = parse((syncerConfig.data as Record<string, string>)["syncer.yaml"]!) as {
        defaultsFile?: string;
      };
      const mountOf = (p: typeof pod, c: typeof syncer, file: string) => {
        const m = (c.volumeMounts ?? []).find((v) => file.startsWith(`${v.mountPath}/`));
        return (p.volumes ?? []).find((v) => v.name === m?.name)?.configMap as { name: string } | undefined;
      };
      assert.ok(config.defaultsFile, `${r}: no defaultsFile in syncer.yaml`);
      assert.equal(mountOf(pod, syncer, config.defaultsFile)?.name, "kube-nftlb-defaults", r);
      // No hash suffix: an edit is applied in place and re-read, instead of renaming the map.
      assert.ok(
        objects.some((o) => o.kind === "ConfigMap" && o.metadata.name === "kube-nftlb-defaults"),
        r,
      );
      if (r === "deploy/overlays/validating-admission-policy") continue; // no webhook there
      const [w] = workloads([find(objects, "Deployment", "kube-nftlb-webhook")]);
      const arg = w!.pod.containers[0]!.args!.find((a) => a.startsWith("--defaults-file="))!;
      const file = arg.slice("--defaults-file=".length);
      assert.equal(file, config.defaultsFile, r);
      assert.equal(mountOf(w!.pod, w!.pod.containers[0]!, file)?.name, "kube-nftlb-defaults", r);
    }
  });

  it("the webhook: 2 replicas spread over nodes, a PDB, a preStop delay, Service 443 → 9443", () => {
    for (const r of ["deploy", "deploy/overlays/alongside-kube-proxy"] as const) {
      const objects = rendered.get(r)!;
      const deployment = find(objects, "Deployment", "kube-nftlb-webhook");
      assert.equal((deployment.spec as { replicas: number }).replicas, 2);
      const [w] = workloads([deployment]);
      assert.equal(w!.pod.topologySpreadConstraints?.[0]?.topologyKey, "kubernetes.io/hostname");
      const c = w!.pod.containers[0]!;
      assert.ok((c.lifecycle?.preStop?.sleep?.seconds ?? 0) > 0);
      assert.equal(c.args![0], "webhook");
      const pdb = find(objects, "PodDisruptionBudget", "kube-nftlb-webhook");
      assert.equal((pdb.spec as { minAvailable: number }).minAvailable, 1);
      const svc = find(objects, "Service", "kube-nftlb-webhook");
      const [port] = (svc.spec as { ports: { port: number; targetPort: string }[] }).ports;
      assert.equal(port!.port, 443);
      assert.equal(c.ports?.find((p) => p.name === port!.targetPort)?.containerPort, 9443);
      assert.ok(c.args!.includes("--port=9443"));
    }
  });

  it("the namespace admits the DaemonSet (privileged) and audits against restricted", () => {
    const ns = find(rendered.get("deploy")!, "Namespace", "kube-nftlb");
    assert.equal(ns.metadata.labels?.["pod-security.kubernetes.io/enforce"], "privileged");
    assert.equal(ns.metadata.labels?.["pod-security.kubernetes.io/audit"], "restricted");
  });
});

describe("docs/operators.md", { skip: missing }, () => {
  it("every directory it tells the operator to apply or delete with -k renders", () => {
    const doc = readFileSync(join(ROOT, "docs/operators.md"), "utf8");
    const dirs = [
      ...new Set([...doc.matchAll(/kubectl (?:apply|delete) -k\s+(deploy[\w/.-]*)/g)].map((m) => m[1]!)),
    ];
    assert.ok(dirs.length >= 5, `found ${dirs.join(", ")}`);
    for (const dir of dirs) {
      assert.ok(render(dir).length > 0, dir);
    }
  });
});

describe("deploy/ pieces fit together", { skip: missing }, () => {
  const flag = (args: string[], name: string) => args.find((a) => a.startsWith(`--${name}=`))?.split("=")[1];

  it("the webhook configurations call the webhook Service, which the certs Job certifies", () => {
    for (const r of ["deploy", "deploy/overlays/alongside-kube-proxy"] as const) {
      const objects = rendered.get(r)!;
      const configs = objects.filter((o) => o.kind.endsWith("WebhookConfiguration"));
      assert.deepEqual(configs.map((c) => c.kind).sort(), [
        "MutatingWebhookConfiguration",
        "ValidatingWebhookConfiguration",
      ]);
      const svc = find(objects, "Service", "kube-nftlb-webhook");
      const ports = (svc.spec as { ports: { port: number }[] }).ports.map((p) => p.port);
      const [webhookPod] = workloads([find(objects, "Deployment", "kube-nftlb-webhook")]);
      const secret = (webhookPod!.pod.volumes!.find((v) => v.secret)!.secret as { secretName: string })
        .secretName;
      for (const cj of workloads(objects).filter(
        (w) => w.labels["app.kubernetes.io/component"] === "certs",
      )) {
        const args = cj.pod.containers[0]!.args!;
        assert.equal(flag(args, "namespace"), "kube-nftlb");
        assert.equal(flag(args, "service"), svc.metadata.name);
        assert.equal(flag(args, "secret"), secret);
        assert.deepEqual(
          flag(args, "webhook")!.split(",").sort(),
          [...new Set(configs.map((c) => c.metadata.name))].sort(),
        );
      }
      for (const c of configs) {
        for (const w of c.webhooks as {
          name: string;
          clientConfig: { service: Record<string, unknown> };
        }[]) {
          const s = w.clientConfig.service;
          assert.equal(s.namespace, svc.metadata.namespace, `${c.kind} ${w.name}`);
          assert.equal(s.name, svc.metadata.name, `${c.kind} ${w.name}`);
          assert.ok(ports.includes((s.port as number | undefined) ?? 443), `${c.kind} ${w.name} port`);
        }
      }
    }
  });

  // Clusters may limit the critical priority classes to namespaces with a matching quota (GKE does;
  // kube-apiserver's ResourceQuota admission config with limitedResources, "Limit Priority Class
  // consumption by default"): without one such pods are refused "insufficient quota to match these
  // scopes" outside kube-system.
  it(
    "every pod with a system-*-critical priority class has a ResourceQuota in its namespace for it",
    each((objects, name) => {
      const quotas = objects.filter((o) => o.kind === "ResourceQuota");
      const critical = workloads(objects).filter((w) =>
        /^system-.*-critical$/.test(w.pod.priorityClassName ?? ""),
      );
      assert.ok(critical.length > 0, `${name}: the node DaemonSet at least`);
      for (const w of critical) {
        const ns = w.object.metadata.namespace;
        const covers = quotas.some((q) => {
          const spec = q.spec as {
            hard?: Record<string, string>;
            scopeSelector?: {
              matchExpressions?: { scopeName: string; operator: string; values?: string[] }[];
            };
          };
          const [m, ...more] = spec.scopeSelector?.matchExpressions ?? [];
          return (
            q.metadata.namespace === ns &&
            more.length === 0 &&
            m?.scopeName === "PriorityClass" &&
            m.operator === "In" &&
            (m.values ?? []).includes(w.pod.priorityClassName!) &&
            // one DaemonSet pod per node, a surge while rolling, and the webhook's replicas
            Number(spec.hard?.pods) >= 10_000 &&
            Object.keys(spec.hard ?? {}).length === 1
          );
        });
        assert.ok(
          covers,
          `${name}: ${w.object.kind} ${w.object.metadata.name} (${w.pod.priorityClassName}) in ${ns}`,
        );
      }
    }),
  );

  it("the webhook pods get the serving pair only, never the CA's private key", () => {
    for (const r of ["deploy", "deploy/overlays/alongside-kube-proxy"] as const) {
      const [webhookPod] = workloads([find(rendered.get(r)!, "Deployment", "kube-nftlb-webhook")]);
      const secret = webhookPod!.pod.volumes!.find((v) => v.secret)!.secret as {
        items?: { key: string; path: string }[];
      };
      assert.deepEqual(
        secret.items?.map((i) => i.key).sort(),
        ["tls.crt", "tls.key"],
        `${r}: the TLS volume must project only tls.crt and tls.key (the Secret also holds ca.key)`,
      );
    }
  });

  it("the validating-admission-policy overlay: a bound policy, and no webhook, certificate or Secret", () => {
    const objects = rendered.get("deploy/overlays/validating-admission-policy")!;
    const policy = objects.find((o) => o.kind === "ValidatingAdmissionPolicy");
    const binding = objects.find((o) => o.kind === "ValidatingAdmissionPolicyBinding");
    assert.ok(policy && binding);
    assert.equal((binding.spec as { policyName: string }).policyName, policy.metadata.name);
    const kinds = objects.map((o) => o.kind);
    for (const absent of [
      "Deployment",
      "Service",
      "Job",
      "CronJob",
      "MutatingWebhookConfiguration",
      "ValidatingWebhookConfiguration",
    ]) {
      assert.ok(!kinds.includes(absent), `${absent} in the VAP overlay`);
    }
    assert.doesNotMatch(JSON.stringify(objects), /kube-nftlb-webhook-tls/);
  });
});
