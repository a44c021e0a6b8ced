// The nftlb client with every call counted and timed (metrics, and the e2e tests' write counts).
import type { NftlbClient, NftlbResult } from "../nftlb/index.ts";
import type { SyncerMetrics } from "./metrics.ts";

type Metered = Pick<SyncerMetrics, "requests" | "requestDuration">;

export function meteredNftlb(
  client: NftlbClient,
  m: Metered,
  now: () => number = () => performance.now(),
): NftlbClient {
  const wrap =
    <A extends unknown[], T>(operation: string, fn: (...args: A) => Promise<NftlbResult<T>>) =>
    async (...args: A): Promise<NftlbResult<T>> => {
      const started = now();
      const r = await fn(...args);
      m.requestDuration.observe({ operation }, (now() - started) / 1000);
      m.requests.inc({ operation, result: r.ok ? "ok" : r.error.kind });
      return r;
    };
  return {
    listFarms: wrap("listFarms", () => client.listFarms()),
    getFarm: wrap("getFarm", (name: string) => client.getFarm(name)),
    listAddresses: wrap("listAddresses", (mentioning?: readonly string[]) =>
      client.listAddresses(mentioning),
    ),
    upsertFarms: wrap("upsertFarms", (...a: Parameters<NftlbClient["upsertFarms"]>) =>
      client.upsertFarms(...a),
    ),
    deleteFarm: wrap("deleteFarm", (name: string) => client.deleteFarm(name)),
    deleteBackend: wrap("deleteBackend", (farm: string, b: string) => client.deleteBackend(farm, b)),
    deleteBackends: wrap("deleteBackends", (farm: string, b: readonly string[]) =>
      client.deleteBackends(farm, b),
    ),
    deleteAddress: wrap("deleteAddress", (farm: string, a: string) => client.deleteAddress(farm, a)),
    ping: wrap("ping", () => client.ping()),
    plantSentinel: wrap("plantSentinel", () => client.plantSentinel()),
    known: () => client.known(),
  };
}
