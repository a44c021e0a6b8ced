// The syncer-memory bench's samples: RSS split by /proc/PID/smaps (smaps.ts) at the phases of a
// cold start, V8's heap figures from the syncer's /metrics, and the table that prints them.
import type { Resident } from "./smaps.ts";
import { sample } from "./syncer-probes.ts";

export type V8Figures = { total: number; used: number; external: number };
export type Sample = { label: string; t: number; r: Resident; v8?: V8Figures };

/** The syncer's V8 heap from its /metrics (MiB), -1 where a figure is missing. */
export const v8Of = (text: string): V8Figures => {
  const mib = (name: string) => sample(text, `kube_nftlb_syncer_nodejs_${name}`) / 2 ** 20;
  return {
    used: mib("heap_size_used_bytes"),
    total: mib("heap_size_total_bytes"),
    external: mib("external_memory_bytes"),
  };
};

/**
 * The phases of one cold start from the sink's events (the first write of more than 64 KiB coming
 * in, the last write and the last GET /farms answered) and the settled sample; each takes the V8
 * figures of the /metrics read nearest in time (within 1.5 s).
 */
export function phases(events: Sample[], reads: Sample[], settled: Sample): Sample[] {
  const lastOut = (kind: string) => events.findLast((e) => e.label === `${kind} out`);
  const post = lastOut("POST /farms");
  const get = lastOut("GET /farms");
  const picked = [
    ...events.filter((e) => e.label === "POST /farms in").map((e) => ({ ...e, label: "first write sent" })),
    ...(post ? [{ ...post, label: "last write answered" }] : []),
    ...(get && (!post || get.t > post.t) ? [{ ...get, label: "read-back sent" }] : []),
    settled,
  ];
  return picked.map((p) => {
    const near = reads.reduce<Sample | undefined>(
      (best, m) => (Math.abs(m.t - p.t) < Math.abs((best?.t ?? Infinity) - p.t) ? m : best),
      undefined,
    );
    return p.v8 || !near || Math.abs(near.t - p.t) > 1500 ? p : { ...p, v8: near.v8 };
  });
}

/** The peak of each part of the RSS over the samples taken. */
export const peakOf = (samples: readonly Sample[]): Resident => {
  const peak: Resident = { rss: 0, brk: 0, arenas: 0, anon: 0, files: 0, other: 0 };
  for (const { r } of samples)
    for (const k of Object.keys(peak) as (keyof Resident)[]) peak[k] = Math.max(peak[k], r[k]);
  return peak;
};

/** Where the RSS is at each phase, per Service count (rows' `t` in seconds from the start). */
export function printPhases(splits: readonly [n: number, rows: Sample[], peak: Resident][]): void {
  console.log(
    "\nwhere the RSS is (MiB; smaps: malloc's brk heap, its other arenas, other anonymous memory — V8's heap " +
      "among it —, files; V8's heap total, used and external from /metrics read within 1.5 s, — when none was):",
  );
  const f = (x: number) => x.toFixed(0).padStart(4);
  for (const [n, rows, peak] of splits) {
    for (const { label, t, r, v8 } of rows) {
      const heap = v8 ? `${f(v8.total)} ${f(v8.used)} ${f(v8.external)}` : "   —    —    —";
      const outside = v8 ? f(r.rss - v8.total) : "   —";
      console.log(
        `${n.toLocaleString("en").padStart(8)} | ${label.padEnd(19)} ${`${t.toFixed(1)} s`.padStart(7)} | RSS ${f(r.rss)} | ` +
          `brk ${f(r.brk)} arenas ${f(r.arenas)} anon ${f(r.anon)} files ${f(r.files)} | heap total/used/external ${heap} | RSS − heap total ${outside}`,
      );
    }
    if (n > 0)
      console.log(
        `${"".padStart(8)} | peak of each (sampled)      | RSS ${f(peak.rss)} | brk ${f(peak.brk)} arenas ${f(peak.arenas)} anon ${f(peak.anon)} files ${f(peak.files)}`,
      );
  }
}
