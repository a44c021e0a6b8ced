// Every nft generation nftlb writes, read from `nft -a monitor` in its namespace, and what each
// farm's rules promise a new connection in it. Test helper, not a test.
//
// nftlb balances a new connection in two rules of a farm (nft.c, run_farm_rules_filter_marks and
// the DNAT of run_farm_rules_gen_bck_map):
//   filter-<farm>: ct state new ct mark 0x0 ct mark set numgen inc mod <total_weight> map { 0 : m1, … }
//   nat-<farm>:    dnat ip to ct mark map { m1 : ip . port, … }
// The modulus is nftlb's running count (backends.c keeps total_weight incrementally), the choice
// map is built from the backends it finds available: should they disagree in any generation, a
// number drawn there has no mark and its connection is never DNATed. So, per generation and farm:
// the keys are exactly 0..modulus-1, and every mark chosen has an address in the DNAT map.
import { spawn, type ChildProcess } from "node:child_process";
import readline from "node:readline";
import { stopChild } from "../lab/net/processes.ts";

export interface FarmRules {
  /** The numgen modulus and the choice map's keys and marks; undefined: no choice rule. */
  choice?: { modulus: number; keys: number[]; marks: number[] };
  /** The DNAT map's marks; undefined: no DNAT rule. */
  dnat?: number[];
}

export interface Generation {
  id: number;
  /** Every farm with rules at the end of this generation (the ones it did not touch too). */
  farms: Map<string, FarmRules>;
}

const CHOICE = /numgen (?:inc|random) mod (\d+) map \{ (.*) \}/;
const DNAT = /to ct mark map \{ (.*) \}/;
const RULE = /^add rule ip nftlb (filter|nat)-(\S+) (.*) # handle (\d+)$/;
const DELETE_RULE = /^delete rule ip nftlb (filter|nat)-(\S+) handle (\d+)$/;
const DELETE_CHAIN = /^delete chain ip nftlb (filter|nat)-(\S+)$/;
const NEW_GENERATION = /^# new generation (\d+)/;

const entries = (list: string) => list.split(", ").map((e) => e.split(" : ") as [string, string]);

const choiceOf = (rule: string): FarmRules["choice"] => {
  const m = CHOICE.exec(rule);
  if (!m) return undefined;
  const keys: number[] = [];
  const marks: number[] = [];
  for (const [k, mark] of entries(m[2]!)) {
    // weights above 1 give ranges: "3-5 : 0x…"
    const [lo = NaN, hi = lo] = k.split("-").map(Number);
    for (let i = lo; i <= hi; i++) keys.push(i);
    marks.push(Number(mark));
  }
  return { modulus: Number(m[1]), keys, marks };
};

const dnatOf = (rule: string): number[] | undefined => {
  const m = DNAT.exec(rule);
  return m ? entries(m[1]!).map(([mark]) => Number(mark)) : undefined;
};

/** Monitor text → the generations it shows, each with every farm's rules at its end. */
export function parseGenerations(text: string): Generation[] {
  // chain ("filter-web") → handle → rule text
  const chains = new Map<string, Map<string, string>>();
  const out: Generation[] = [];
  const snapshot = (): Map<string, FarmRules> => {
    const farms = new Map<string, FarmRules>();
    for (const [chain, rules] of chains) {
      const [kind, farm] = [chain.slice(0, chain.indexOf("-")), chain.slice(chain.indexOf("-") + 1)];
      const f = farms.get(farm) ?? {};
      for (const rule of rules.values()) {
        if (kind === "filter") f.choice ??= choiceOf(rule);
        else f.dnat ??= dnatOf(rule);
      }
      farms.set(farm, f);
    }
    return farms;
  };
  for (const line of text.split("\n")) {
    let m: RegExpExecArray | null;
    if ((m = NEW_GENERATION.exec(line))) out.push({ id: Number(m[1]), farms: snapshot() });
    else if ((m = RULE.exec(line))) {
      const chain = `${m[1]}-${m[2]}`;
      chains.set(chain, (chains.get(chain) ?? new Map<string, string>()).set(m[4]!, m[3]!));
    } else if ((m = DELETE_RULE.exec(line))) chains.get(`${m[1]}-${m[2]}`)?.delete(m[3]!);
    else if ((m = DELETE_CHAIN.exec(line))) chains.delete(`${m[1]}-${m[2]}`);
  }
  return out;
}

/**
 * What is wrong with one farm's rules in one generation, for a new connection; [] if nothing. A
 * farm without a choice rule balances nothing: right for a farm without backends, and the
 * caller's to expect, so it is named too.
 */
export function farmProblems(f: FarmRules): string[] {
  if (f.choice === undefined) return ["no choice rule: a new connection gets no backend"];
  const { modulus, keys, marks } = f.choice;
  const have = new Set(keys);
  const missing = Array.from({ length: modulus }, (_, i) => i).filter((i) => !have.has(i));
  const problems: string[] = [];
  if (missing.length > 0)
    problems.push(
      `numgen mod ${modulus} but the choice map lacks ${missing.length} of its numbers (${missing.slice(0, 3).join(", ")}…)`,
    );
  const extra = keys.filter((k) => k >= modulus).length;
  if (extra > 0) problems.push(`numgen mod ${modulus} never draws ${extra} of the choice map's keys`);
  const dnat = new Set(f.dnat ?? []);
  const unmapped = marks.filter((m) => !dnat.has(m));
  if (unmapped.length > 0)
    problems.push(`${unmapped.length} chosen marks have no DNAT address (0x${unmapped[0]!.toString(16)}…)`);
  return problems;
}

/** Every problem of every generation, as "generation N, farm F: …". */
export const generationProblems = (gens: readonly Generation[]): string[] =>
  gens.flatMap((g) =>
    [...g.farms].flatMap(([farm, f]) => farmProblems(f).map((p) => `generation ${g.id}, farm ${farm}: ${p}`)),
  );

export interface GenerationWatch {
  /** The monitor's text so far. */
  text(): string;
  stop(): Promise<void>;
}

/** `nft -a monitor` in namespace `ns`, from now on (see untilWatching: it needs a moment to attach). */
export function watchGenerations(ns: string): GenerationWatch {
  const child: ChildProcess = spawn("ip", ["netns", "exec", ns, "nft", "-a", "monitor"], {
    stdio: ["ignore", "pipe", "ignore"],
  });
  const lines: string[] = [];
  readline.createInterface({ input: child.stdout! }).on("line", (l) => lines.push(l));
  return { text: () => lines.join("\n"), stop: () => stopChild(child) };
}
