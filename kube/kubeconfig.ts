// Where the API server is and who we are: a kubeconfig file when given (the lab, a laptop), else
// the pod's service account (in-cluster). Errors come back as values with the reason.
import { KubeConfig } from "@kubernetes/client-node";

export type KubeConfigResult = { ok: true; kc: KubeConfig; source: string } | { ok: false; error: string };

export function loadKubeConfig(path?: string): KubeConfigResult {
  const kc = new KubeConfig();
  try {
    if (path !== undefined && path !== "") {
      kc.loadFromFile(path);
      if (kc.getCurrentCluster() === null)
        return { ok: false, error: `kubeconfig ${path} has no current cluster` };
      return { ok: true, kc, source: path };
    }
    if (process.env.KUBERNETES_SERVICE_HOST === undefined) {
      return {
        ok: false,
        error: "no --kubeconfig given and not running in a cluster (KUBERNETES_SERVICE_HOST unset)",
      };
    }
    kc.loadFromCluster();
    return { ok: true, kc, source: "in-cluster service account" };
  } catch (err) {
    return { ok: false, error: `cannot load kubeconfig${path ? ` ${path}` : ""}: ${(err as Error).message}` };
  }
}
