// Time for the nftlb client to apply a farm of 1, 10, 100 and 1,000 backends (validate, POST,
// read back and verify) next to the same single POST sent raw over node:http, against the real
// nftlb in the lab's namespaces. Each run starts from an empty nftlb (the farm is deleted first)
// and the two ways alternate, so both see the same daemon. Prints medians; asserts nothing.
//   npm run bench -- nftlb-client      or      node bench/nftlb-client.ts [--runs N]
// (root: builds network namespaces)
import process from "node:process";
import { parseArgs } from "node:util";
import { cannotBuildNetwork, createTestNetwork, testFarm } from "../lab/net/index.ts";
import { createNftlbClient, serializeFarms } from "../nftlb/index.ts";
import { rawPost } from "./lib/raw-post.ts";
import { helpFromHeader } from "./lib/usage.ts";

helpFromHeader(import.meta.url, process.argv.slice(2));
const { values } = parseArgs({ options: { runs: { type: "string", default: "7" } } });
const why = cannotBuildNetwork();
if (why) {
  console.error(`bench/nftlb-client: cannot run: ${why}`);
  process.exit(2);
}
const runs = Number(values.runs);

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
};

const net = await createTestNetwork({ backends: 0 });
try {
  const client = createNftlbClient({ url: net.nftlb.url, key: net.nftlb.key, timeoutMs: 60_000 });
  console.log(`nftlb client vs one raw POST, real nftlb 1.0.7, median of ${runs} runs (ms)`);
  console.log("backends | client apply (POST+GET+verify) | raw POST | ratio");
  for (const n of [1, 10, 100, 1000]) {
    const backends = Array.from({ length: n }, (_, i) => ({
      name: `pod-${i}`,
      ip: `10.240.${Math.floor(i / 250)}.${(i % 250) + 1}`,
    }));
    const farm = testFarm({ name: "default.bench.http", vip: net.vip(10), port: 80, backends });
    const body = serializeFarms([farm]);
    const timesClient: number[] = [];
    const timesRaw: number[] = [];
    for (let r = 0; r < runs; r++) {
      await client.deleteFarm(farm.name);
      let t0 = performance.now();
      const res = await client.upsertFarms([farm]);
      timesClient.push(performance.now() - t0);
      if (!res.ok) throw new Error(res.error.message);
      await client.deleteFarm(farm.name);
      t0 = performance.now();
      const status = await rawPost(net.nftlb.url, net.nftlb.key, body);
      timesRaw.push(performance.now() - t0);
      if (status !== 200) throw new Error(`raw POST: HTTP ${status}`);
    }
    await client.deleteFarm(farm.name);
    const c = median(timesClient);
    const raw = median(timesRaw);
    console.log(
      `${String(n).padStart(8)} | ${c.toFixed(1).padStart(30)} | ${raw.toFixed(1).padStart(8)} | ${(c / raw).toFixed(2)}`,
    );
  }
} finally {
  await net.destroy();
}
