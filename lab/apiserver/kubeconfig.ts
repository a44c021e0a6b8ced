// The kubeconfig a client needs: the server URL, the lab CA (so TLS is verified, not skipped)
// and the bearer token. kubectl and @kubernetes/client-node both read it unchanged.
import { stringify } from "yaml";

export function kubeconfig(opts: {
  server: string;
  caPem: string;
  token: string;
  name?: string;
  namespace?: string;
  /** the user entry's name (default NAME-admin) */
  user?: string;
}): string {
  const name = opts.name ?? "kube-nftlb-lab";
  const user = opts.user ?? `${name}-admin`;
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
    users: [{ name: user, user: { token: opts.token } }],
    contexts: [{ name, context: { cluster: name, user, namespace: opts.namespace ?? "default" } }],
    "current-context": name,
  });
}
