// The kubeconfig a client needs: the server URL, the lab CA (so TLS is verified, not skipped)
// and the bearer token. kubectl and @kubernetes/client-node both read it unchanged.
import { stringify } from "yaml";

export function kubeconfig(opts: {
  server: string;
  caPem: string;
  token: string;
  name?: string;
  namespace?: string;
}): string {
  const name = opts.name ?? "kube-nftlb-lab";
  return stringify({
    apiVersion: "v1",
    kind: "Config",
    preferences: {},
    clusters: [
      {
        name,
        cluster: {
          server: opts.server,
          "certificate-authority-data": Buffer.from(opts.caPem).toString("base64"),
        },
      },
    ],
    users: [{ name: `${name}-admin`, user: { token: opts.token } }],
    contexts: [
      { name, context: { cluster: name, user: `${name}-admin`, namespace: opts.namespace ?? "default" } },
    ],
    "current-context": name,
  });
}
