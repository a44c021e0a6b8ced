/* eslint-disable @typescript-eslint/no-unsafe-member-access -- Status objects from the wire are plain JSON */
// Requests without credentials, as kube-apiserver answers them with its default
// --anonymous-auth=true: the anonymous authenticator names them system:anonymous in
// system:unauthenticated, and RBAC decides — the health and version paths are open
// (system:public-info-viewer), everything else is 403 with the authorizer's text. A bearer
// token the server does not know is 401 on every path, the health ones included: the anonymous
// authenticator runs only when no token was presented (union.NewFailOnError). Checked with
// curl and the real kubectl (a kubeconfig without a user's credentials); `--anonymous-auth=false`
// (startApiServer's anonymousAuth) turns every unauthenticated request into a 401.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { startApiServer, type ApiServer } from "../lab/apiserver/index.ts";
import { kubeconfig } from "../lab/apiserver/kubeconfig.ts";
import { kubectlWith } from "./kubectl-run.ts";
import { missing } from "./rbac-fixture.ts";

const curl = (api: ApiServer, dir: string, p: string, ...extra: string[]) =>
  new Promise<{ code: number; body: string }>((resolve, reject) => {
    const ca = path.join(dir, "ca.crt");
    writeFileSync(ca, api.ca.cert);
    execFile(
      "curl",
      ["-sS", "--cacert", ca, "-w", "\\n%{http_code}", ...extra, `${api.url}${p}`],
      (err, out) => {
        if (err !== null) return reject(new Error(`curl ${p}: ${err.message}`));
        const i = out.lastIndexOf("\n");
        resolve({ code: Number(out.slice(i + 1)), body: out.slice(0, i) });
      },
    );
  });

const forbidden = (message: string, kind: string, group = "", name?: string) => ({
  kind: "Status",
  apiVersion: "v1",
  metadata: {},
  status: "Failure",
  message,
  reason: "Forbidden",
  details: { ...(name !== undefined ? { name } : {}), ...(group !== "" ? { group } : {}), kind },
  code: 403,
});

describe("anonymous requests (--anonymous-auth=true, the default)", { skip: missing }, () => {
  let api: ApiServer;
  let dir = "";
  const admin = kubectlWith(
    () => api.kubeconfigPath,
    () => dir,
  );
  const anonymous = kubectlWith(
    () => path.join(dir, "anonymous.kubeconfig"),
    () => dir,
  );
  before(async () => {
    dir = mkdtempSync(path.join(tmpdir(), "apiserver-anonymous-"));
    api = await startApiServer();
    // kubectl prompts for a username when its user has no credentials at all; a Basic header is
    // no credentials to a server without basic auth (gone since 1.19): an anonymous request
    const config = kubeconfig({ server: api.url, caPem: api.ca.cert, token: "" }).replace(
      /user:\n\s+token: ""/,
      "user: { username: nobody, password: none }",
    );
    writeFileSync(path.join(dir, "anonymous.kubeconfig"), config);
  });
  after(async () => {
    await api.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it("the health and version paths answer without credentials (system:public-info-viewer)", async () => {
    for (const p of ["/healthz", "/livez", "/readyz"])
      assert.deepEqual(await curl(api, dir, p), { code: 200, body: "ok" });
    const v = await curl(api, dir, "/version");
    assert.equal(v.code, 200);
    assert.equal((JSON.parse(v.body) as { gitVersion: string }).gitVersion, "v1.32.4-lab");
  });

  it("anything else is system:anonymous's 403, worded by the authorizer", async () => {
    const list = await curl(api, dir, "/api/v1/namespaces/default/services");
    assert.equal(list.code, 403);
    assert.deepEqual(
      JSON.parse(list.body),
      forbidden(
        'services is forbidden: User "system:anonymous" cannot list resource "services" in API group "" in the namespace "default"',
        "services",
      ),
    );
    // discovery is bound to system:authenticated only (since 1.14), so kubectl fails at discovery
    const api0 = await curl(api, dir, "/api");
    assert.equal(api0.code, 403);
    assert.equal(JSON.parse(api0.body).message, 'forbidden: User "system:anonymous" cannot get path "/api"');
    const raw = await anonymous("get", "--raw", "/api/v1/namespaces/default/services");
    assert.equal(
      raw.stderr.trim(),
      'Error from server (Forbidden): services is forbidden: User "system:anonymous" cannot list resource "services" in API group "" in the namespace "default"',
    );
    // kubectl's aggregated-discovery client reads that 403 as "unknown", as against a real server
    const k = await anonymous("get", "services");
    assert.equal(k.stderr.trim().split("\n").at(-1), "Error from server (Forbidden): unknown");
    // the self reviews are system:basic-user's, bound to system:authenticated
    const who = await anonymous("auth", "whoami");
    assert.equal(
      who.stderr.trim(),
      "error: the selfsubjectreviews API is not enabled in the cluster or you do not have permission to call it",
    );
  });

  it("an empty bearer token or another scheme is no credentials; an unknown token is 401, on the health paths too", async () => {
    for (const header of ["Authorization: Bearer ", "Authorization: Basic YWRtaW46YWRtaW4="])
      assert.equal((await curl(api, dir, "/api/v1/namespaces", "-H", header)).code, 403, header);
    for (const p of ["/healthz", "/version", "/api"]) {
      const bad = await curl(api, dir, p, "-H", "Authorization: Bearer not-a-token");
      assert.equal(bad.code, 401, p);
      assert.equal(JSON.parse(bad.body).message, "Unauthorized");
    }
  });

  it("a binding to system:unauthenticated grants anonymous requests; --as=system:anonymous gets that group", async () => {
    await admin("create", "role", "open", "--verb=list", "--resource=services");
    await admin("create", "rolebinding", "open", "--role=open", "--group=system:unauthenticated");
    const list = await curl(api, dir, "/api/v1/namespaces/default/services");
    assert.equal(list.code, 200);
    assert.equal(JSON.parse(list.body).kind, "ServiceList");
    // the impersonation filter gives system:anonymous system:unauthenticated (not system:authenticated)
    const as = await admin("get", "services", "--as=system:anonymous");
    assert.equal(as.code, 0, as.stderr);
    const can = await admin("auth", "can-i", "list", "services", "--as=system:anonymous");
    assert.equal(
      can.stderr.trim(),
      'Error from server (Forbidden): selfsubjectaccessreviews.authorization.k8s.io is forbidden: User "system:anonymous" cannot create resource "selfsubjectaccessreviews" in API group "authorization.k8s.io" at the cluster scope',
    );
    // impersonation by an anonymous request is authorized as anyone's
    const imp = await curl(api, dir, "/api/v1/namespaces", "-H", "Impersonate-User: jane");
    assert.equal(imp.code, 403);
    assert.equal(
      JSON.parse(imp.body).message,
      'users "jane" is forbidden: User "system:anonymous" cannot impersonate resource "users" in API group "" at the cluster scope',
    );
  });
});

describe("--anonymous-auth=false", { skip: missing }, () => {
  let api: ApiServer;
  let dir = "";
  before(async () => {
    dir = mkdtempSync(path.join(tmpdir(), "apiserver-anonymous-"));
    api = await startApiServer({ anonymousAuth: false });
  });
  after(async () => {
    await api.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it("every request without credentials is 401, the health paths included", async () => {
    for (const p of ["/healthz", "/version", "/api/v1/namespaces"]) {
      const r = await curl(api, dir, p);
      assert.equal(r.code, 401, p);
      assert.equal(JSON.parse(r.body).reason, "Unauthorized");
    }
  });
});
