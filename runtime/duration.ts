// The one duration grammar of every kube-nftlb flag and settings file: Go's time.ParseDuration
// spelling as Kubernetes uses it ("87600h", "10m", "1h30m", "250ms"; units h, m, s, ms, combined,
// positive), so an operator can copy a value from kube-proxy's or cert-manager's settings without
// converting units. Each flag adds its own bounds on top.
const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
const PART = /(\d+(?:\.\d+)?)(ms|s|m|h)/y;

/** Milliseconds, or an error message naming the bad input. */
export function parseDuration(text: string): number | { error: string } {
  const bad = { error: `invalid duration "${text}" (expected e.g. 8760h, 90m, 1h30m)` };
  if (text.length === 0 || text.length > 64) return bad;
  let ms = 0;
  PART.lastIndex = 0;
  while (PART.lastIndex < text.length) {
    const at = PART.lastIndex;
    const m = PART.exec(text);
    if (m === null || m.index !== at) return bad;
    ms += Number(m[1]) * (UNIT_MS[m[2] ?? ""] ?? NaN);
  }
  if (!Number.isFinite(ms) || ms <= 0) return bad;
  return Math.round(ms);
}

/** The inverse, for messages: whole hours when it divides, else minutes, else seconds. */
export function formatDuration(ms: number): string {
  if (ms % 3_600_000 === 0) return `${ms / 3_600_000}h`;
  if (ms % 60_000 === 0) return `${ms / 60_000}m`;
  return `${Math.round(ms / 1000)}s`;
}
