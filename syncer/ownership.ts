// Which nftlb farms are kube-nftlb's, and whose: the one place garbage collection asks. A farm
// kube-nftlb does not own is never changed nor deleted; swapping the rule here swaps it for
// plan's deletions, node rules and the farms metric alike.
import { SENTINEL_FARM } from "../nftlb/index.ts";
import { looksLikeOurFarm } from "./desired-names.ts";

/** Whether kube-nftlb made this farm (so may rewrite or delete it). The sentinel is not a Service's. */
export const ownsFarm = (farm: string): boolean => farm !== SENTINEL_FARM && looksLikeOurFarm(farm);

/** `<ns>.<svc>.<port>[...]` → `ns/svc`: the Service a farm belongs to, by its name alone. */
export const ownerOf = (farm: string): string => {
  const [ns = "", svc = ""] = farm.split(".");
  return `${ns}/${svc}`;
};
