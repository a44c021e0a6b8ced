// Where the API server is and who we are: a kubeconfig file when given (the lab, a laptop), else
// the pod's service account (in-cluster), else — for commands an operator runs by hand, such as
// `kube-nftlb certs` — kubectl's usual files. Errors come back as values with the reason.
import { KubeConfig } from "@kubernetes/client-node";
import { existsSync } from "node:fs";
import { homedir } from "node:os";
import { delimiter, join } from "node:path";

export type KubeConfigResult = { ok: true; kc: KubeConfig; source: string } | { ok: false; error: string };

export interface KubeConfigOptions {
  /** Outside a cluster, fall back to $KUBECONFIG or ~/.kube/config as kubectl does (default: off). */
  kubectlFiles?: boolean;
}

export function loadKubeConfig(path?: string, opts: KubeConfigOptions = {}): KubeConfigResult {
  const kc = new KubeConfig();
  try {
    if (path !== undefined && path !== "") {
      kc.loadFromFile(path);
      if (kc.getCurrentCluster() === null)
        return { ok: false, error: `kubeconfig ${path} has no current cluster` };
      return { ok: true, kc, source: path };
    }
    if (process.env.KUBERNETES_SERVICE_HOST !== undefined) {
      kc.loadFromCluster();
      return { ok: true, kc, source: "in-cluster service account" };
    }
    if (opts.kubectlFiles !== true) {
      return {
        ok: false,
        error: "no --kubeconfig given and not running in a cluster (KUBERNETES_SERVICE_HOST unset)",
      };
    }
    // loadFromDefault falls back to http://localhost:8080 when it finds nothing: say so instead.
    const files = (process.env.KUBECONFIG ?? "").split(delimiter).filter((f) => f !== "");
    const home = join(homedir(), ".kube", "config");
    if (!files.some((f) => existsSync(f)) && !existsSync(home)) {
      return {
        ok: false,
        error:
          "no --kubeconfig given, not in a cluster (KUBERNETES_SERVICE_HOST unset), and no $KUBECONFIG or ~/.kube/config",
      };
    }
    kc.loadFromDefault();
    return { ok: true, kc, source: files.length > 0 ? files.join(delimiter) : home };
  } catch (err) {
    return { ok: false, error: `cannot load kubeconfig${path ? ` ${path}` : ""}: ${(err as Error).message}` };
  }
}
