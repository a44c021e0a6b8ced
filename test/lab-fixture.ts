// Shared by test/lab-*.test.ts: a whole lab (lab/cluster) in a temporary directory, kubectl
// against it and nftlb's farms (polling with a deadline: until.ts). Each test file starts its own lab
// (its own network slot, so files run in parallel) and stops it in after(), even on failure; a
// crashed run's namespaces and processes are removed by the next lab's slot cleanup.
import { execFile, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { startCluster, type Cluster, type ClusterOptions } from "../lab/cluster/cluster.ts";
import { cannotBuildNetwork } from "../lab/net/index.ts";

export const whyNoLab = (): string | undefined => {
  const why = cannotBuildNetwork();
  if (why !== undefined) return why;
  const kubectl = spawnSync("kubectl", ["version", "--client"], { stdio: "ignore" });
  if (kubectl.error !== undefined || kubectl.status !== 0) return "needs kubectl on PATH (CI installs it)";
  return undefined;
};

export interface Lab {
  cluster: Cluster;
  dir: string;
  kubectl(args: string[], stdin?: string): Promise<{ code: number; stdout: string; stderr: string }>;
  /** kubectl that must succeed; returns stdout */
  k(args: string[], stdin?: string): Promise<string>;
  clusterIP(service: string): Promise<string>;
  farm(name: string): Promise<NftlbFarm | undefined>;
  stop(): Promise<void>;
}

export interface NftlbFarm {
  name: string;
  scheduler?: string;
  "sched-param"?: string;
  persistence?: string;
  state?: string;
  backends?: { name: string; "ip-addr": string; state?: string }[];
}

export async function startLab(o: Omit<ClusterOptions, "dir"> = {}): Promise<Lab> {
  const dir = mkdtempSync(path.join(tmpdir(), "kube-nftlb-lab-test-"));
  let cluster: Cluster;
  try {
    // Two nodes unless a test says otherwise: every lab test runs on the two-node lab (issue 12).
    cluster = await startCluster({ nodes: 2, ...o, dir });
  } catch (err) {
    // Said here as well: a failing before() hook only shows its tests as cancelled.
    console.error(`# the lab did not start: ${(err as Error).message}`);
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  const kubectl = (args: string[], stdin?: string) =>
    new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
      const child = execFile(
        "kubectl",
        ["--kubeconfig", cluster.info.kubeconfig, ...args],
        { timeout: 60_000 },
        (err, stdout, stderr) =>
          resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
      );
      child.stdin?.end(stdin ?? "");
    });
  const k = async (args: string[], stdin?: string) => {
    const r = await kubectl(args, stdin);
    if (r.code !== 0) throw new Error(`kubectl ${args.join(" ")}: ${r.stderr}`);
    return r.stdout;
  };
  return {
    cluster,
    dir,
    kubectl,
    k,
    clusterIP: async (svc) => (await k(["get", "svc", svc, "-o", "jsonpath={.spec.clusterIP}"])).trim(),
    farm: async (name) => {
      const r = await fetch(`${cluster.info.nftlb.url}/farms/${name}`, {
        headers: { Key: cluster.info.nftlb.key },
        signal: AbortSignal.timeout(5000),
      }).catch(() => undefined);
      if (r?.status !== 200) return undefined;
      const body = (await r.json()) as { farms?: NftlbFarm[] };
      return body.farms?.[0];
    },
    stop: async () => {
      await cluster.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export const count = (answers: readonly string[]): Record<string, number> => {
  const out: Record<string, number> = {};
  for (const a of answers) out[a] = (out[a] ?? 0) + 1;
  return out;
};

/** A Pod of the lab's pod server, YAML for kubectl. */
export const podYaml = (
  name: string,
  labels: Record<string, string>,
  annotations: Record<string, string> = {},
) => `
apiVersion: v1
kind: Pod
metadata:
  name: ${name}
  labels: ${JSON.stringify(labels)}
  annotations: ${JSON.stringify(annotations)}
spec:
  containers:
    - name: app
      image: lab.kube-nftlb.io/pod-server
      ports:
        - { name: http, containerPort: 8080 }
        - { name: dns, containerPort: 5353, protocol: UDP }
---`;

export const serviceYaml = (
  name: string,
  selector: Record<string, string>,
  annotations: Record<string, string> = {},
) => `
apiVersion: v1
kind: Service
metadata:
  name: ${name}
  annotations: ${JSON.stringify(annotations)}
spec:
  selector: ${JSON.stringify(selector)}
  ports:
    - { name: http, port: 80, targetPort: http, protocol: TCP }
    - { name: dns, port: 53, targetPort: dns, protocol: UDP }
---`;
