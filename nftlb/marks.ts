// Connection marks, as kube-nftlb assigns them (measured on nftlb 1.0.7, docs/nftlb.md):
// - a backend's mark is unique within its farm, from 0x002 up to 0xFFF. nftlb still searches a
//   free mark for every backend it creates, walking every backend of every farm per candidate,
//   from 0x001 up; leaving 0x001 free ends that search at the first candidate.
// - marks repeat across farms; a farm mark (a multiple of 0x1000 below the masquerade bit
//   0x80000000) is ORed into its backends' marks and makes them unique node-wide, which nftlb's
//   global mark maps (`log: forward`, source-addr) need.

export const BACKEND_MARK_MIN = 0x002;
export const BACKEND_MARK_MAX = 0xfff;
/** Backends one farm can hold: one mark each, 0x002-0xFFF. */
export const MAX_BACKENDS_PER_FARM = BACKEND_MARK_MAX - BACKEND_MARK_MIN + 1;
export const FARM_MARK_STEP = 0x1000;
/** The masquerade bit (nftlb's default `-m`): farm marks stay below it. */
export const FARM_MARK_LIMIT = 0x80000000;

const HEX = /^0x[0-9a-fA-F]{1,8}$/;

/** "0x1a" → 26; anything that is not a hex mark → undefined. */
export const parseMark = (s: string | undefined): number | undefined =>
  s !== undefined && HEX.test(s.trim()) ? Number.parseInt(s.trim().slice(2), 16) : undefined;

/**
 * A farm's own mark, undefined when it has none (absent, unreadable, or 0x0: no mark). Farms read
 * from nftlb may be garbage (null included): they have none.
 */
export const farmMarkOf = (farm: { mark?: unknown } | null | undefined): number | undefined => {
  const m = parseMark(typeof farm?.mark === "string" ? farm.mark : undefined);
  return m === 0 ? undefined : m;
};

export const formatMark = (n: number): string => `0x${n.toString(16).padStart(3, "0")}`;

export const isBackendMark = (n: number | undefined): n is number =>
  n !== undefined && n >= BACKEND_MARK_MIN && n <= BACKEND_MARK_MAX;

export const isFarmMark = (n: number | undefined): n is number =>
  n !== undefined && n > 0 && n % FARM_MARK_STEP === 0 && n < FARM_MARK_LIMIT;
