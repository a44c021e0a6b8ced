// One plan operation sent to nftlb as is (tests and tools that apply a plan without the
// reconciler's budget and refusal handling).
import type { NftlbClient, NftlbResult } from "../nftlb/index.ts";
import type { Operation } from "./plan.ts";

export const sendOperation = (nftlb: NftlbClient, op: Operation): Promise<NftlbResult<unknown>> =>
  "farms" in op
    ? nftlb.upsertFarms(op.farms)
    : "backends" in op
      ? nftlb.deleteBackends(op.farm, op.backends)
      : "address" in op
        ? nftlb.deleteAddress(op.farm, op.address)
        : nftlb.deleteFarm(op.farm);
