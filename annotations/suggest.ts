// "Did you mean" for annotation keys and values: the nearest candidate by edit distance,
// offered only when it is close enough to be a plausible typo.

export function editDistance(a: string, b: string): number {
  const prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let diag = prev[0]!;
    prev[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const up = prev[j]!;
      prev[j] = Math.min(up + 1, prev[j - 1]! + 1, diag + (a[i - 1] === b[j - 1] ? 0 : 1));
      diag = up;
    }
  }
  return prev[b.length]!;
}

/** The nearest candidate to `input`, compared case- and whitespace-insensitively, or undefined. */
export function nearest(input: string, candidates: readonly string[]): string | undefined {
  const needle = input.trim().toLowerCase();
  // Past three times the longest candidate no edit distance is within the limit below, and none
  // starts with the input: skip the O(n·m) work on a value of any size.
  if (needle.length > 3 * Math.max(0, ...candidates.map((c) => c.length))) return undefined;
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const c of candidates) {
    const d = editDistance(needle, c);
    // On a tie, the candidate sharing the longer prefix is the likelier intent.
    if (
      d < bestDistance ||
      (d === bestDistance && best !== undefined && prefix(needle, c) > prefix(needle, best))
    ) {
      best = c;
      bestDistance = d;
    }
  }
  if (best === undefined) return undefined;
  const limit = Math.max(2, Math.floor(Math.max(best.length, needle.length) / 3));
  // Rewriting the whole input is no typo: "" or "x" suggest nothing.
  if (bestDistance <= limit && bestDistance < needle.length) return best;
  // A truncated value ("hash" for "hash-srcip") is far by edit distance but plainly meant.
  if (needle.length < 3) return undefined;
  return candidates.filter((c) => c.startsWith(needle)).sort((a, b) => a.length - b.length)[0];
}

function prefix(a: string, b: string): number {
  let i = 0;
  while (i < a.length && i < b.length && a[i] === b[i]) i++;
  return i;
}
