// startApiServer: an in-memory Kubernetes API server on 127.0.0.1 (port 0 by default, so many can
// run at once), serving HTTPS with a certificate from a fresh lab CA, with a kubeconfig (token
// auth) written to a temporary directory. See docs/apiserver.md.
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import https from "node:https";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createCa, type LabCa } from "../pki/ca.ts";
import { IpAllocator, PortAllocator } from "./allocators.ts";
import { Tokens } from "./authn.ts";
import { attachAggregation } from "./aggregation.ts";
import { seedBootstrapPolicy } from "./bootstrap-policy.ts";
import { Faults } from "./faults.ts";
import type { Server } from "./http.ts";
import { kubeconfig } from "./kubeconfig.ts";
import { ManagedFields } from "./managedfields.ts";
import { findResource } from "./resources.ts";
import { router } from "./router.ts";
import { Store } from "./store.ts";
import type { ServiceResolver } from "./webhook-call.ts";
import { timestamp } from "./write.ts";

export interface ApiServerOptions {
  /** default 0: any free port */
  port?: number;
  host?: string;
  /** where the kubeconfig goes; default: a new temporary directory, removed by stop() */
  dir?: string;
  /** default "10.96.0.0/12" */
  serviceCidr?: string;
  /** default "30000-32767" */
  nodePortRange?: string;
  /** the admin's bearer token (lab-admin, system:masters); default random */
  token?: string;
  /** where admission webhooks referenced by service really listen; default: nowhere */
  resolveService?: ServiceResolver;
  /** events kept for watches to resume from (default 1000); older resourceVersions get 410 */
  historySize?: number;
  /** BOOKMARK period for watches that allow them (default 60 s, as the real watch cache) */
  bookmarkIntervalMs?: number;
  /** a CA to sign the serving certificate with; default: a new one */
  ca?: LabCa;
  log?: (line: string) => void;
  /** workload kinds something runs, e.g. ["Deployment", "ReplicaSet"] in the lab; default none */
  running?: string[];
  /**
   * kube-apiserver's --anonymous-auth: a request without credentials is system:anonymous (true,
   * the default), or 401 (false)
   */
  anonymousAuth?: boolean;
}

export interface ApiServer {
  url: string;
  kubeconfigPath: string;
  token: string;
  /** the lab CA: PEM certificate and key, and issue() for webhook serving certificates */
  ca: LabCa;
  faults: Faults;
  store: Store;
  stop(): Promise<void>;
}

const NAMESPACES = ["default", "kube-node-lease", "kube-public", "kube-system"];

function seedNamespaces(store: Store): void {
  const res = findResource("", "v1", "namespaces");
  if (res === undefined) return;
  for (const name of NAMESPACES) {
    store.put(res, {
      kind: "Namespace",
      apiVersion: "v1",
      metadata: {
        name,
        uid: crypto.randomUUID(),
        creationTimestamp: timestamp(),
        labels: { "kubernetes.io/metadata.name": name },
      },
      spec: { finalizers: ["kubernetes"] },
      status: { phase: "Active" },
    });
  }
}

export async function startApiServer(opts: ApiServerOptions = {}): Promise<ApiServer> {
  const host = opts.host ?? "127.0.0.1";
  const ca = opts.ca ?? createCa();
  const serving = ca.issue({
    commonName: "kube-apiserver",
    dnsNames: ["localhost", "kubernetes", "kubernetes.default", "kubernetes.default.svc"],
    ips: [host, "127.0.0.1", "::1"],
  });
  const token = opts.token ?? randomBytes(24).toString("base64url");
  const store = new Store(opts.historySize ?? 1000);
  seedNamespaces(store);
  seedBootstrapPolicy(store);
  // kube-controller-manager's ClusterRole aggregation, which RBAC needs to mean what it says
  const stopAggregation = attachAggregation(store);
  const watches = new Set<import("node:http").ServerResponse>();
  const srv: Server = {
    store,
    alloc: {
      ips: new IpAllocator(opts.serviceCidr ?? "10.96.0.0/12"),
      ports: new PortAllocator(opts.nodePortRange ?? "30000-32767"),
    },
    fields: new ManagedFields(),
    resolve: opts.resolveService ?? (() => undefined),
    watches,
    bookmarkIntervalMs: opts.bookmarkIntervalMs ?? 60_000,
    running: new Set(opts.running ?? []),
  };
  const faults = new Faults(store, watches);
  let address = "";
  const server = https.createServer(
    { cert: serving.cert, key: serving.key, ALPNProtocols: ["http/1.1"] },
    router(srv, {
      tokens: new Tokens(token, { anonymous: opts.anonymousAuth ?? true }),
      faults,
      serverAddress: () => address,
      ...(opts.log !== undefined ? { log: opts.log } : {}),
    }),
  );
  server.on("clientError", (_err, socket) => socket.destroy());
  server.on("tlsClientError", () => undefined);
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(opts.port ?? 0, host, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  address = `${host.includes(":") ? `[${host}]` : host}:${port}`;
  const url = `https://${address}`;
  const ownDir = opts.dir === undefined;
  const dir = opts.dir ?? mkdtempSync(join(tmpdir(), "kube-nftlb-apiserver-"));
  const kubeconfigPath = join(dir, "kubeconfig");
  writeFileSync(kubeconfigPath, kubeconfig({ server: url, caPem: ca.cert, token }), { mode: 0o600 });

  const stop = async () => {
    stopAggregation();
    for (const w of watches) w.destroy();
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    if (ownDir) rmSync(dir, { recursive: true, force: true });
  };
  return { url, kubeconfigPath, token, ca, faults, store, stop };
}
