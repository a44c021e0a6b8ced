// The keeper over a fake table: applies only what changed, retries failures with backoff on the
// injected timers, puts a vanished table back.
import { test } from "node:test";
import assert from "node:assert/strict";
import type { Timers } from "../kube/timers.ts";
import { until } from "../test/until.ts";
import { NodeRulesKeeper } from "./node-rules-keeper.ts";
import type { NodeRulesTable, TableResult } from "./node-rules-nft.ts";
import { EMPTY_RULES, type NodeRules } from "./node-rules.ts";

function fakes() {
  const scripts: NodeRules[] = [];
  const pending: { ms: number; fn: () => void }[] = [];
  const state: { fail: string; present: boolean; slow?: Promise<TableResult<boolean>> } = {
    fail: "",
    present: true,
  };
  const table: NodeRulesTable = {
    apply: (s): Promise<TableResult> => {
      scripts.push(s);
      return Promise.resolve(state.fail ? { ok: false, error: state.fail } : { ok: true, value: undefined });
    },
    exists: () => {
      const slow = state.slow;
      state.slow = undefined;
      return slow ?? Promise.resolve({ ok: true, value: state.present });
    },
    remove: () => Promise.resolve({ ok: true, value: undefined }),
  };
  const timers: Timers = {
    now: () => 0,
    after: (ms, fn) => {
      const t = { ms, fn };
      pending.push(t);
      return { cancel: () => pending.splice(pending.indexOf(t), 1) };
    },
  };
  const logs: string[] = [];
  const log = { info: (_: object, m: string) => logs.push(m), warn: (_: object, m: string) => logs.push(m) };
  return { keeper: new NodeRulesKeeper({ table, log, timers }), scripts, pending, state, logs };
}

const ONE: NodeRules = {
  noEndpoints: [{ family: "ipv4", protocol: "tcp", ip: "10.96.0.1", port: 80, verdict: "reject" }],
  firewall: [],
  hairpin: [],
};

test("applies once; the same rules again write nothing; force writes again", async () => {
  const f = fakes();
  assert.equal(await f.keeper.update(ONE), true);
  assert.equal(await f.keeper.update(ONE), true);
  assert.equal(f.scripts.length, 1);
  await f.keeper.update(ONE, { force: true });
  assert.equal(f.scripts.length, 2);
});

test("a failure is logged and retried with backoff until nft takes it", async () => {
  const f = fakes();
  f.state.fail = "nft exited with 1: Operation not permitted";
  assert.equal(await f.keeper.update(ONE), false);
  assert.equal(f.keeper.lastError, "nft exited with 1: Operation not permitted");
  assert.deepEqual(
    f.pending.map((p) => p.ms),
    [500],
  );
  f.pending.shift()!.fn();
  await f.keeper.check(); // runs after the retry in flight (one nft run at a time), which failed again
  assert.equal(f.scripts.length, 2);
  assert.equal(f.pending.at(-1)?.ms, 1000, "the backoff doubles");
  f.state.fail = "";
  f.pending.shift()!.fn();
  assert.equal(await f.keeper.update(ONE), true);
  assert.equal(f.keeper.lastError, undefined);
  assert.ok(f.logs.some((m) => /cannot apply table inet kube-nftlb; retrying/.test(m)));
});

test("check() puts a vanished table back, and does nothing while it is there", async () => {
  const f = fakes();
  await f.keeper.check();
  assert.equal(f.scripts.length, 0, "nothing wanted yet");
  await f.keeper.update(EMPTY_RULES);
  await f.keeper.check();
  assert.equal(f.scripts.length, 1);
  f.state.present = false;
  await f.keeper.check();
  assert.equal(f.scripts.length, 2);
  assert.equal(f.keeper.stats.reapplied, 1);
});

test("an update that changes nothing does not wait behind a check in flight (nft listing the tables)", async () => {
  const f = fakes();
  await f.keeper.update(ONE);
  let release = () => {};
  const listing = new Promise<TableResult<boolean>>(
    (res) => (release = () => res({ ok: true, value: true })),
  );
  // The next exists() (the probe's check) answers only when released, as a slow `nft list tables`.
  f.state.slow = listing;
  const order: string[] = [];
  const checked = f.keeper.check().then(() => order.push("check"));
  setImmediate(release);
  assert.equal(await f.keeper.update(ONE), true);
  order.push("update");
  await checked;
  assert.deepEqual(order, ["update", "check"]);
  assert.equal(f.scripts.length, 1, "nothing applied again");
});

test("an update waits for an apply in flight, so the kernel ends with the rules wanted last", async () => {
  const f = fakes();
  await f.keeper.update(EMPTY_RULES);
  const first = f.keeper.update(ONE); // applies ONE
  const back = f.keeper.update(EMPTY_RULES); // what the kernel had before: must still be applied
  assert.equal(await first, true);
  assert.equal(await back, true);
  assert.deepEqual(f.scripts.at(-1), EMPTY_RULES);
});

/** A keeper whose nft runs answer only when released. */
function blocked() {
  const scripts: NodeRules[] = [];
  const answers: (() => void)[] = [];
  const table: NodeRulesTable = {
    apply: (s) => {
      scripts.push(s);
      return new Promise((res) => answers.push(() => res({ ok: true, value: undefined })));
    },
    exists: () => Promise.resolve({ ok: true, value: true }),
    remove: () => Promise.resolve({ ok: true, value: undefined }),
  };
  const log = { info: () => undefined, warn: () => undefined };
  /** Answers the next nft run, once it has started. */
  const release = async () => {
    await until("an nft run has started", () => answers.length > 0, { intervalMs: 1 });
    answers.shift()!();
  };
  return { keeper: new NodeRulesKeeper({ table, log }), scripts, release };
}

const FIREWALL: NodeRules = {
  ...EMPTY_RULES,
  firewall: [{ family: "ipv4", protocol: "tcp", ip: "192.0.2.10", port: 443, allow: ["198.51.100.0/24"] }],
};

test("hold(): a write's rules wait for an apply in flight unless the table in place and the one on its way both have them", async () => {
  const f = blocked();
  const first = f.keeper.update(ONE);
  await f.release();
  assert.equal(await first, true);
  // ONE in the kernel; an apply letting go of ONE's refusal is under way.
  const letGo = f.keeper.update(EMPTY_RULES);
  await until("the second apply has started", () => f.scripts.length >= 2, { intervalMs: 1 });
  let held = false;
  const needsNothing = f.keeper.hold(EMPTY_RULES, EMPTY_RULES).then((ok) => (held = ok));
  await needsNothing;
  assert.equal(held, true, "needs nothing either table lacks: at once");
  // A firewall neither has must be in the kernel before the write: it waits for its own apply.
  let fenced = false;
  const needsFirewall = f.keeper.hold(FIREWALL, FIREWALL).then((ok) => (fenced = ok));
  await new Promise((res) => setImmediate(res));
  assert.equal(fenced, false, "waits while the apply in flight lacks the firewall");
  await f.release();
  await letGo;
  await new Promise((res) => setImmediate(res));
  assert.equal(fenced, false, "and until its own apply is answered");
  await f.release();
  assert.equal(await needsFirewall, true);
  assert.deepEqual(f.scripts, [ONE, EMPTY_RULES, FIREWALL], "the kernel ends with the rules wanted last");
});

test("the same rules object again is not rendered again (a pass that wrote nothing hands back its table from before the write)", async () => {
  const f = fakes();
  const rules: NodeRules = { ...ONE, hairpin: [{ family: "ipv4", ip: "10.1.0.1" }] };
  await f.keeper.hold(rules, EMPTY_RULES);
  await f.keeper.update(rules);
  assert.equal(f.keeper.stats.renders, 1);
  await f.keeper.update({ ...rules });
  assert.equal(f.keeper.stats.renders, 2, "equal rules in a new object: rendered, to compare");
  assert.equal(f.scripts.length, 1, "and not applied again");
});
