export { createTestNetwork, type TestNetwork, type TestBackend, type TestNetworkOptions } from "./network.ts";
export { cleanupStale } from "./slots.ts";
export { cannotBuildNetwork } from "./sys.ts";
export type { Probe, ClientAgent } from "./client.ts";
export { testFarm, tally, type TestFarmOptions } from "./farms.ts";
export { addCountingGateway, type CountingGateway } from "./gateway.ts";
export { startClientAgent } from "./client.ts";
