// Shared by test/apiserver-rbac*.test.ts: a lab API server with the ServiceAccount default/bot and
// a token for it, kubectl as the admin and as bot, and the raw client with bot's token.
// Test helper, not a test.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { request } from "../lab/apiserver/client.ts";
import { startApiServer, type ApiServer } from "../lab/apiserver/index.ts";
import { KUBECTL, kubectlWith } from "./kubectl-run.ts";

export const missing = existsSync(KUBECTL) ? false : `kubectl is not installed at ${KUBECTL}`;
export const USER = "system:serviceaccount:default:bot";

export function rbacWorld() {
  let api: ApiServer | undefined;
  let dir = "";
  let token = "";
  const server = () => {
    if (api === undefined) throw new Error("rbacWorld: start() first");
    return api;
  };
  const kubectl = kubectlWith(
    () => server().kubeconfigPath,
    () => dir,
  );
  const must = async (...args: string[]) => {
    const r = await kubectl(...args);
    assert.equal(r.code, 0, `kubectl ${args.join(" ")}: ${r.stderr}`);
    return r.stdout.trim();
  };
  const as = (...args: string[]) => kubectl("--token", token, ...args);
  return {
    api: server,
    token: () => token,
    kubectl,
    must,
    /** kubectl as bot */
    as,
    can: async (...args: string[]) => (await as("auth", "can-i", ...args)).stdout.trim(),
    /** the raw client, as bot unless another token is given */
    raw: (method: string, path: string, body?: unknown, t = token) =>
      request(server(), method, path, { token: t, ...(body !== undefined ? { body } : {}) }),
    /** kubectl apply (or replace, create...) -f - with YAML on stdin, as the admin unless a token is given */
    kubectlIn: (yaml: string, verb = "apply", args: string[] = [], asToken?: string) =>
      new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
        const child = execFile(
          KUBECTL,
          [
            ...["--kubeconfig", server().kubeconfigPath, "--cache-dir", join(dir, "cache")],
            ...(asToken !== undefined ? ["--token", asToken] : []),
            ...[verb, "-f", "-", ...args],
          ],
          (err, stdout, stderr) => resolve({ code: err === null ? 0 : 1, stdout, stderr }),
        );
        child.stdin?.end(yaml);
      }),
    async start() {
      dir = mkdtempSync(join(tmpdir(), "apiserver-rbac-"));
      api = await startApiServer();
      await must("create", "serviceaccount", "bot");
      token = await must("create", "token", "bot");
    },
    async stop() {
      await api?.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
