// The farms the syncer would POST to an empty nftlb for the benchmarks' Services (marks
// included): its own desired + plan over bench/lib/cluster-objects.ts's Services and slices,
// so every floor is exactly what the syncer would send.
import type { FarmPatch } from "../../nftlb/index.ts";
import { desired } from "../../syncer/desired.ts";
import { plan } from "../../syncer/plan.ts";
import { cip, service, slice } from "./cluster-objects.ts";

const node = { name: "node-1", addresses: [] };

/** Services m<from>..m<from+n-1>, `endpoints` each. */
export const coldFarms = (n: number, endpoints = 10, from = 0): FarmPatch[] =>
  plan(
    Array.from(
      { length: n },
      (_, i) =>
        desired(
          service(`m${from + i}`, cip(from + i)),
          [slice(`m${from + i}`, endpoints, (from + i) * endpoints)],
          node,
        ).farms[0]!,
    ),
    [],
    { owns: () => true },
  ).upserts;

/** The same farms with every mark left out, for nftlb to pick its own (the --with-nftlb-marks floors). */
export const withoutMarks = (farms: FarmPatch[]): FarmPatch[] =>
  farms.map(({ mark: _farm, ...f }) => ({
    ...f,
    backends: (f.backends ?? []).map(({ mark: _b, ...b }) => b),
  }));
