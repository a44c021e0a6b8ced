// A changed farm's backends → the backend objects of its POST, in the order nftlb needs (pure).
// Measured on nftlb 1.0.7 (docs/nftlb.md):
// - deleting a backend makes nftlb rewrite the farm's rules (~120 ms each in a farm of 2,000),
//   so a backend that goes is not deleted when another one arrives: its entry is reused, renamed
//   (`newname`) to the new backend with its address, port and state — while it is down, which
//   nftlb applies without touching the rules. The kernel then goes from the old set to the new
//   in one rewrite, at the end of the POST, and the new backend inherits the entry's mark;
// - a backend that goes with nothing to replace it is set down in the same POST (out of the
//   rules at once) and deleted afterwards (`remove`), a cost paid outside the traffic's path.
// Marks (see plan-marks.ts): a kept backend keeps nftlb's; a new one takes its entry's, or the
// lowest free from 0x002.
import type { Backend } from "../nftlb/types.ts";
import type { BackendPatch } from "../nftlb/serialize.ts";
import { BACKEND_MARK_MAX, BACKEND_MARK_MIN, formatMark, isBackendMark, parseMark } from "../nftlb/marks.ts";
import { BACKEND_FIELDS, normaliseBackend, type NormalFarm } from "../nftlb/normalise.ts";

/** Backends going away with no successor: up to this many are simply deleted after the POST. */
export const SET_DOWN_FIRST_OVER = 10;

export interface BackendChanges {
  patches: BackendPatch[];
  /** Backends to delete from nftlb once the POST went through (down by then). */
  remove: string[];
}

export function backendChanges(want: readonly Backend[], a: NormalFarm): BackendChanges {
  const wanted = new Set(want.map((b) => b.name));
  const taken = new Set<number>();
  const markOf = new Map<string, number>();
  // Kept backends keep their mark; live ones first, so one coming back from down yields on a clash.
  const kept = want
    .filter((b) => a.backends.has(b.name))
    .sort(
      (x, y) =>
        Number(a.backends.get(x.name)!.state === "down") - Number(a.backends.get(y.name)!.state === "down"),
    );
  for (const b of kept) {
    const m = parseMark(a.backends.get(b.name)!.mark);
    if (isBackendMark(m) && !taken.has(m)) {
      taken.add(m);
      markOf.set(b.name, m);
    }
  }
  let next = BACKEND_MARK_MIN;
  const free = (): number | undefined => {
    while (taken.has(next)) next++;
    if (next > BACKEND_MARK_MAX) return undefined;
    taken.add(next);
    return next;
  };
  // Entries that go: already-down ones are reused first (nothing to take out of the rules).
  const slots = [...a.backends]
    .filter(([name]) => !wanted.has(name))
    .sort(([, x], [, y]) => Number(y.state === "down") - Number(x.state === "down"));

  const changed: BackendPatch[] = [];
  const down: BackendPatch[] = [];
  const renamed: BackendPatch[] = [];
  const added: BackendPatch[] = [];
  for (const b of want) {
    const have = a.backends.get(b.name);
    if (have !== undefined) {
      const m = markOf.get(b.name) ?? free();
      const w = normaliseBackend(m === undefined ? b : { ...b, mark: formatMark(m) });
      const fields = BACKEND_FIELDS.filter((k) => have[k] !== w[k]);
      if (fields.length > 0)
        changed.push({ name: b.name, ...Object.fromEntries(fields.map((k) => [k, w[k]])) });
      continue;
    }
    const slot = slots.shift();
    if (slot === undefined) {
      const m = free();
      added.push(m === undefined ? b : { ...b, mark: formatMark(m) });
      continue;
    }
    const [old, entry] = slot;
    if (entry.state !== "down") down.push({ name: old, state: "down" });
    const own = parseMark(entry.mark);
    const m = isBackendMark(own) && !taken.has(own) ? (taken.add(own), own) : free();
    renamed.push({
      name: old,
      newname: b.name,
      "ip-addr": b["ip-addr"],
      port: b.port,
      weight: b.weight ?? "1",
      priority: b.priority ?? "1",
      ...(m !== undefined && m !== own ? { mark: formatMark(m) } : {}),
      state: b.state,
    });
  }
  // Few left over: deleted straight away (one rule rewrite each, as setting them down would
  // cost one more). Many: down in this POST, so the rules are right at once, deleted after.
  if (slots.length > SET_DOWN_FIRST_OVER)
    for (const [old, entry] of slots) if (entry.state !== "down") down.push({ name: old, state: "down" });
  // Changed first (an up backend whose address changes makes nftlb rewrite the rules there and
  // then: the old set is still whole), then the ones going down, then renamed and new ones.
  return { patches: [...changed, ...down, ...renamed, ...added], remove: slots.map(([name]) => name) };
}
