// Farms for tests and benchmarks on the test network: one VIP:port, the given backends.
import type { Farm, NftlbMode, NftlbProtocol } from "../../nftlb/types.ts";
import type { TestBackend } from "./network.ts";

export interface TestFarmOptions {
  name: string;
  vip: string;
  port: number;
  backends: readonly Pick<TestBackend, "name" | "ip">[];
  backendPort?: number;
  protocol?: NftlbProtocol;
  mode?: NftlbMode;
  down?: readonly string[];
}

export const testFarm = (o: TestFarmOptions, extra: Partial<Farm> = {}): Farm => ({
  name: o.name,
  family: "ipv4",
  mode: o.mode ?? "snat",
  protocol: o.protocol ?? "tcp",
  scheduler: "rr",
  "sched-param": "none",
  persistence: "none",
  "persist-ttl": "60",
  helper: "none",
  log: "none",
  addresses: [
    {
      name: `${o.name}-v4`,
      family: "ipv4",
      "ip-addr": o.vip,
      ports: String(o.port),
      protocol: o.protocol ?? "tcp",
    },
  ],
  backends: o.backends.map((b) => ({
    name: b.name,
    "ip-addr": b.ip,
    port: String(o.backendPort ?? 8080),
    state: o.down?.includes(b.name) ? ("down" as const) : ("up" as const),
  })),
  ...extra,
});

/** How many answers each backend gave. */
export const tally = (answers: readonly { ok: boolean; answer?: string }[]): Record<string, number> => {
  const out: Record<string, number> = {};
  for (const a of answers) {
    const key = a.ok ? (a.answer ?? "") : "(failed)";
    out[key] = (out[key] ?? 0) + 1;
  }
  return out;
};
