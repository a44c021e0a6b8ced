// A backend's state: kube-nftlb sets only up, down or off; nftlb answers with those or with its
// own verdicts on a backend set up (config_error, available), and a GET keeps them as they are.
import { test } from "node:test";
import assert from "node:assert/strict";
import { BACKEND_DEFAULTS } from "./normalise.ts";
import { parseFarms } from "./parse.ts";
import type { FarmPatch } from "./serialize.ts";
import type { Backend, BackendState, Farm } from "./types.ts";
import { validateFarms } from "./validate.ts";
import { verifyWritten } from "./verify.ts";

const FARM = "shop.web.http";
const answer = (backends: Record<string, string>[]): Farm => {
  const r = parseFarms(
    JSON.stringify({
      farms: [
        {
          name: FARM,
          family: "ipv4",
          mode: "snat",
          protocol: "tcp",
          addresses: [{ name: "a", family: "ipv4", "ip-addr": "10.96.0.10", ports: "80", protocol: "tcp" }],
          backends,
        },
      ],
    }),
  );
  assert.ok(r.ok);
  return r.value[0]!;
};

test("GET's states are read as nftlb reports them; a backend without one has nftlb's default", () => {
  const farm = answer([
    { name: "b1", "ip-addr": "10.0.0.1", state: "config_error" },
    { name: "b2", "ip-addr": "10.0.0.2", state: "available" },
    { name: "b3", "ip-addr": "10.0.0.3", state: "up" },
    { name: "b4", "ip-addr": "10.0.0.4" },
  ]);
  const states: BackendState[] = farm.backends.map((b) => b.state);
  assert.deepEqual(states, ["config_error", "available", "up", BACKEND_DEFAULTS.state]);
  // Backend["state"] admits nftlb's verdicts (before BackendState this did not type-check).
  const reported: Backend["state"] = farm.backends[0]!.state;
  assert.equal(reported, "config_error");
});

test("a backend sent up and reported available (standby) is written; config_error is not", () => {
  const sent: FarmPatch[] = [{ name: FARM, backends: [{ name: "b1", "ip-addr": "10.0.0.1", state: "up" }] }];
  const read = (state: string) => new Map([[FARM, answer([{ name: "b1", "ip-addr": "10.0.0.1", state }])]]);
  assert.deepEqual(verifyWritten(sent, read("available")), []);
  assert.deepEqual(verifyWritten(sent, read("config_error")), [
    `farm "${FARM}" backend "b1" is config_error, not up`,
  ]);
});

test("only a setting is sent: nftlb's verdicts are refused before nftlb sees them", () => {
  for (const state of ["config_error", "available"] as const) {
    const problems = validateFarms(
      [{ name: FARM, backends: [{ name: "b1", "ip-addr": "10.0.0.1", state }] }],
      new Map(),
    );
    assert.ok(
      problems.some((p) => p.includes(`invalid state "${state}"`)),
      problems.join("\n"),
    );
  }
});
