// How the lab's API stand-in reaches the admission webhook: as kube-apiserver does, through the
// webhook Service's ClusterIP, dialled from a node (kube-apiserver runs on a control-plane node,
// in its network namespace). So the lab's own admission path works only when kube-nftlb balances
// the node's own traffic (nftlb's intra-connect) — a lab without it fails closed, as a cluster
// would.
//
// The webhook runs in the node namespace (like a hostNetwork Pod), so its Service has no
// selector and the lab writes its EndpointSlice: the node's address, port 9443.
import type { Store } from "../apiserver/store.ts";
import type { ServiceResolver } from "../apiserver/webhook-call.ts";
import type { NodeDialer } from "../net/tunnel.ts";
import type { ApiClient } from "./api-client.ts";
import { storeSource } from "./sources.ts";
import { WEBHOOK_NAMESPACE, WEBHOOK_SERVICE } from "./webhook-configs.ts";
import { SERVICE_NAME_LABEL } from "../controllers/endpointslice-sync.ts";

interface ServiceObject {
  spec?: { clusterIP?: string; ports?: { port?: number }[] };
}

/** kube-apiserver's service resolution: the Service's ClusterIP on the referenced port, dialled from the node. */
export function clusterIpResolver(store: () => Store, dialer: NodeDialer): ServiceResolver {
  return (ref) => {
    const svc = storeSource<ServiceObject>(store(), "", "services").get(ref.namespace, ref.name);
    const ip = svc?.spec?.clusterIP;
    if (ip === undefined || ip === "" || ip === "None") return undefined;
    if (!(svc?.spec?.ports ?? []).some((p) => p.port === ref.port)) return undefined;
    return {
      url: `https://${ip.includes(":") ? `[${ip}]` : ip}:${ref.port}`,
      dial: (host, port) => dialer.dial(host, port),
    };
  };
}

/** The webhook's Service (port 443 → 9443, no selector); returns its ClusterIP. */
export async function createWebhookService(api: ApiClient): Promise<string> {
  const r = await api.request("POST", `/api/v1/namespaces/${WEBHOOK_NAMESPACE}/services`, {
    apiVersion: "v1",
    kind: "Service",
    metadata: { name: WEBHOOK_SERVICE, namespace: WEBHOOK_NAMESPACE },
    spec: { ports: [{ name: "https", port: 443, protocol: "TCP", targetPort: 9443 }] },
  });
  if (!r.ok) throw new Error(`webhook Service: ${r.error}`);
  const ip = (r.body as ServiceObject).spec?.clusterIP;
  if (ip === undefined) throw new Error("webhook Service: no ClusterIP allocated");
  return ip;
}

/** Its endpoint, once the webhook answers: the node's address, as for a hostNetwork Pod. */
export async function publishWebhookEndpoint(
  api: ApiClient,
  node: { name: string; ip: string },
  port: number,
): Promise<void> {
  const r = await api.request(
    "POST",
    `/apis/discovery.k8s.io/v1/namespaces/${WEBHOOK_NAMESPACE}/endpointslices`,
    {
      apiVersion: "discovery.k8s.io/v1",
      kind: "EndpointSlice",
      metadata: {
        name: `${WEBHOOK_SERVICE}-lab`,
        namespace: WEBHOOK_NAMESPACE,
        labels: { [SERVICE_NAME_LABEL]: WEBHOOK_SERVICE },
      },
      addressType: "IPv4",
      endpoints: [{ addresses: [node.ip], conditions: { ready: true }, nodeName: node.name }],
      ports: [{ name: "https", port, protocol: "TCP" }],
    },
  );
  if (!r.ok) throw new Error(`webhook EndpointSlice: ${r.error}`);
}

/** Polls until a connection from the node to ClusterIP:443 is accepted (the syncer programmed it). */
export async function waitWebhookReachable(
  dialer: NodeDialer,
  ip: string,
  deadlineMs: number,
): Promise<void> {
  const deadline = Date.now() + deadlineMs;
  let last = "";
  while (Date.now() < deadline) {
    const ok = await Promise.race([
      dialer.dial(ip, 443).then(
        (s) => (s.destroy(), true),
        (e: Error) => ((last = e.message), false),
      ),
      new Promise<boolean>((r) => setTimeout(() => r(false), 500).unref()),
    ]);
    if (ok) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(
    `the webhook is not reachable through its ClusterIP ${ip}:443 from the node after ${deadlineMs} ms (${last || "no answer"}): is node traffic balanced (intra-connect)?`,
  );
}
