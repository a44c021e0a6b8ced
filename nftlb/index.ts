export * from "./types.ts";
export {
  createNftlbClient,
  SENTINEL_FARM,
  type NftlbClient,
  type NftlbClientOptions,
  type NftlbLog,
} from "./client.ts";
export { serializeFarms, serializeFarm, type FarmPatch, type BackendPatch } from "./serialize.ts";
export { validateFarms } from "./validate.ts";
export * from "./marks.ts";
