// The one kubeconfig loader of every command (the syncer's and `kube-nftlb certs`): a file when
// given, else in-cluster, else — only where asked, as kubectl does — $KUBECONFIG or ~/.kube/config.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadKubeConfig } from "./kubeconfig.ts";

const dir = mkdtempSync(join(tmpdir(), "kubeconfig-test-"));
const file = join(dir, "config");
const saved = {
  KUBECONFIG: process.env.KUBECONFIG,
  HOME: process.env.HOME,
  HOST: process.env.KUBERNETES_SERVICE_HOST,
};
writeFileSync(
  file,
  [
    "apiVersion: v1",
    "kind: Config",
    "clusters: [{ name: c, cluster: { server: 'https://127.0.0.1:6443' } }]",
    "users: [{ name: u, user: { token: t } }]",
    "contexts: [{ name: x, context: { cluster: c, user: u } }]",
    "current-context: x",
  ].join("\n"),
);
const restore = (k: string, v: string | undefined) =>
  v === undefined ? delete process.env[k] : (process.env[k] = v);

before(() => {
  delete process.env.KUBERNETES_SERVICE_HOST;
  process.env.HOME = dir; // no ~/.kube/config there
});
after(() => {
  restore("KUBECONFIG", saved.KUBECONFIG);
  restore("HOME", saved.HOME);
  restore("KUBERNETES_SERVICE_HOST", saved.HOST);
  rmSync(dir, { recursive: true, force: true });
});

test("a given file is read; one without a current cluster is refused", () => {
  const r = loadKubeConfig(file);
  assert.ok(r.ok, JSON.stringify(r));
  assert.equal(r.kc.getCurrentCluster()?.server, "https://127.0.0.1:6443");
  assert.equal(r.source, file);
  const empty = join(dir, "empty");
  writeFileSync(empty, "apiVersion: v1\nkind: Config\n");
  assert.deepEqual(loadKubeConfig(empty), { ok: false, error: `kubeconfig ${empty} has no current cluster` });
});

test("outside a cluster the syncer's call refuses to guess, even with $KUBECONFIG set", () => {
  process.env.KUBECONFIG = file;
  const r = loadKubeConfig(undefined);
  assert.ok(!r.ok);
  assert.match(r.error, /not running in a cluster/);
});

test("an operator's command falls back to $KUBECONFIG, then says when there is nothing", () => {
  process.env.KUBECONFIG = file;
  const r = loadKubeConfig(undefined, { kubectlFiles: true });
  assert.ok(r.ok, JSON.stringify(r));
  assert.equal(r.source, file);
  assert.equal(r.kc.getCurrentCluster()?.server, "https://127.0.0.1:6443");
  delete process.env.KUBECONFIG;
  const none = loadKubeConfig(undefined, { kubectlFiles: true });
  assert.ok(!none.ok);
  assert.match(none.error, /no \$KUBECONFIG or ~\/\.kube\/config/);
});
