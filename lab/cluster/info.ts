// DIR/lab.json: what a running lab is and how to reach it. Written by `lab up`, read by
// `lab down`, tests and benchmarks.
export interface LabInfo {
  version: 1;
  dir: string;
  slot: number;
  kubeconfig: string;
  apiServer: string;
  nftlb: { url: string; key: string; keyFile: string; netns: string };
  client: { netns: string; addresses: string[] };
  /** the first node (where the webhook and the API stand-in's dialler run) */
  node: { name: string; netns: string; addresses: { InternalIP: string }; podCIDR: string };
  /** every node, the first included (`--nodes 2`: two) */
  nodes: {
    name: string;
    netns: string;
    addresses: { InternalIP: string };
    podCIDR: string;
    nftlb: { url: string; keyFile: string };
    syncer: { probes: string; log: string; pid: number };
  }[];
  /** `url`: where it listens; `clusterIP`: its Service, which the API stand-in dials from the node */
  webhook: { url: string; clusterIP: string; log: string };
  syncer: { probes: string; log: string };
  /** syncer2…: the other nodes' syncers */
  pids: { supervisor: number; webhook: number; syncer: number; [other: string]: number };
  /** every network namespace of this lab starts with this */
  namespacePrefix: string;
}
