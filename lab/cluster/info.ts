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
  node: { name: string; netns: string; addresses: { InternalIP: string }; podCIDR: string };
  webhook: { url: string; log: string };
  syncer: { probes: string; log: string };
  pids: { supervisor: number; webhook: number; syncer: number };
  /** every network namespace of this lab starts with this */
  namespacePrefix: string;
}
