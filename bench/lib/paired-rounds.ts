// A server measured against its floor in alternating short rounds (ABAB…, the order swapped every
// round), each round giving one ratio: on a shared machine the load drifts within seconds, so a
// ratio of two runs taken a minute apart measures the drift as much as the servers. The median of
// the per-round ratios, with their min–max, says how far one figure can be trusted.

export interface Spread {
  median: number;
  min: number;
  max: number;
}

export const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length === 0 ? NaN : s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
};

export const spread = (xs: number[]): Spread => ({
  median: median(xs),
  min: Math.min(...xs),
  max: Math.max(...xs),
});

/** `1.02 (0.91–1.10)` */
export const formatSpread = (s: Spread, digits = 2): string =>
  `${s.median.toFixed(digits)} (${s.min.toFixed(digits)}–${s.max.toFixed(digits)})`;

/**
 * `rounds` pairs of measurements, `floor` first in even rounds and `ours` first in odd ones, so a
 * steady drift in the machine's load favours neither.
 */
export async function pairedRounds<T>(
  rounds: number,
  floor: () => Promise<T>,
  ours: () => Promise<T>,
): Promise<{ floor: T; ours: T }[]> {
  const pairs: { floor: T; ours: T }[] = [];
  for (let round = 0; round < rounds; round++) {
    if (round % 2 === 0) {
      const f = await floor();
      pairs.push({ floor: f, ours: await ours() });
    } else {
      const o = await ours();
      pairs.push({ floor: await floor(), ours: o });
    }
  }
  return pairs;
}
