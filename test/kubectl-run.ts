// The real kubectl against the API stand-in, for the tests that drive it: one helper instead of a
// copy per file.
import { execFile } from "node:child_process";
import { join } from "node:path";

export const KUBECTL = "/usr/bin/kubectl";

export interface KubectlResult {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * kubectl with the stand-in's kubeconfig and a discovery cache of its own. Getters, because a
 * test file learns both in its before() hook.
 */
export function kubectlWith(kubeconfig: () => string, dir: () => string, timeoutMs = 30_000) {
  return (...args: string[]): Promise<KubectlResult> =>
    new Promise((resolve) => {
      execFile(
        KUBECTL,
        ["--kubeconfig", kubeconfig(), "--cache-dir", join(dir(), "cache"), ...args],
        { timeout: timeoutMs },
        (err, stdout, stderr) =>
          resolve({ code: err === null ? 0 : typeof err.code === "number" ? err.code : 1, stdout, stderr }),
      );
    });
}
