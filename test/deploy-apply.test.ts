// deploy/ applied the way an operator applies it, to the lab's Kubernetes API stand-in: a
// server-side dry run first, then for real, for the base and every overlay; what the server
// stores is what kustomize rendered (so a field the server would drop or refuse shows here).
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { join } from "node:path";
import { startApiServer, type ApiServer } from "../lab/apiserver/index.ts";
import { kubectlMissing, render, RENDERS, ROOT } from "./deploy-render.ts";

const missing = kubectlMissing();

// Asynchronous on purpose: the API server runs in this process and must keep answering.
const kubectl = (api: ApiServer, ...args: string[]) =>
  new Promise<{ code: number; out: string; err: string }>((resolve) => {
    execFile(
      "kubectl",
      ["--kubeconfig", api.kubeconfigPath, ...args],
      { timeout: 60_000, maxBuffer: 16 << 20 },
      (err, out, errOut) =>
        resolve({ code: err === null ? 0 : typeof err.code === "number" ? err.code : 1, out, err: errOut }),
    );
  });

const plural = (kind: string) =>
  ({ PodDisruptionBudget: "poddisruptionbudgets", ValidatingAdmissionPolicy: "validatingadmissionpolicies" })[
    kind
  ] ?? `${kind.toLowerCase()}s`;

describe("deploy/ applied to the lab API server", { skip: missing }, () => {
  for (const dir of RENDERS) {
    describe(dir, () => {
      let api: ApiServer;
      before(async () => (api = await startApiServer()));
      after(async () => api.stop());

      it("a server-side dry run of the namespace and then the whole kustomization succeeds", async () => {
        // A dry run cannot create the namespace the rest lives in (the real server answers
        // NotFound too), so the namespace goes first, as docs/operators.md installs it.
        const ns = await kubectl(api, "create", "namespace", "kube-nftlb", "--dry-run=server");
        assert.equal(ns.code, 0, ns.err);
        assert.equal((await kubectl(api, "create", "namespace", "kube-nftlb")).code, 0);
        const dry = await kubectl(api, "apply", "--server-side", "--dry-run=server", "-k", join(ROOT, dir));
        assert.equal(dry.code, 0, dry.err);
        assert.match(dry.out, /serverside-applied \(server dry run\)/);
        const none = await kubectl(api, "get", "daemonsets,deployments", "-n", "kube-nftlb", "-o", "name");
        assert.equal(none.out.trim(), "", "a dry run stores nothing");
      });

      it("applied for real, every rendered object is stored as rendered", async () => {
        const r = await kubectl(api, "apply", "--server-side", "-k", join(ROOT, dir));
        assert.equal(r.code, 0, r.err);
        for (const o of render(dir)) {
          const where = o.metadata.namespace ? ["-n", o.metadata.namespace] : [];
          const group = o.apiVersion.includes("/") ? `.${o.apiVersion.split("/")[0]}` : "";
          const got = await kubectl(
            api,
            "get",
            `${plural(o.kind)}${group}`,
            o.metadata.name,
            ...where,
            "-o",
            "json",
          );
          assert.equal(got.code, 0, `${o.kind} ${o.metadata.name}: ${got.err}`);
          const stored = JSON.parse(got.out) as Record<string, unknown>;
          for (const field of ["spec", "data", "rules", "webhooks", "subjects", "roleRef"]) {
            if (o[field] === undefined) continue;
            assert.deepEqual(
              pick(stored[field], o[field]),
              o[field],
              `${o.kind} ${o.metadata.name}: ${field} stored differently`,
            );
          }
        }
      });

      it("a second apply changes nothing it does not own", async () => {
        const r = await kubectl(api, "apply", "--server-side", "-k", join(ROOT, dir));
        assert.equal(r.code, 0, r.err);
      });
    });
  }
});

/** The parts of `stored` that `rendered` names (the server adds defaults and status). */
function pick(stored: unknown, rendered: unknown): unknown {
  if (Array.isArray(rendered) && Array.isArray(stored)) return rendered.map((r, i) => pick(stored[i], r));
  if (rendered && typeof rendered === "object" && stored && typeof stored === "object") {
    const s = stored as Record<string, unknown>;
    return Object.fromEntries(
      Object.keys(rendered).map((k) => [k, pick(s[k], (rendered as Record<string, unknown>)[k])]),
    );
  }
  return stored;
}
