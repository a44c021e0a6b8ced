// The message for an annotation value its key does not accept: why, and what was likely meant.
// A value that another kube-nftlb key accepts names that key: the original kube-nftlb README
// itself shows `…-persistence: "symhash"` under its scheduler section, and
// `persistence: hash-srcip-srcport` is a scheduler, not the persistence "srcip-srcport" that
// edit distance alone would offer (a different feature).
import {
  KEY_SUFFIXES,
  KEYS,
  REFUSED_MODES,
  UNIMPLEMENTED_HELPERS,
  fullKey,
  type KeySuffix,
} from "./contract.ts";
import { nearest } from "./suggest.ts";

/** The other keys that accept `value` exactly (compared as nearest compares: case and spaces aside). */
export function keysAccepting(value: string, except: KeySuffix): KeySuffix[] {
  const v = value.trim().toLowerCase();
  return KEY_SUFFIXES.filter((k) => k !== except && (KEYS[k].values as readonly string[]).includes(v));
}

export function badValue(suffix: KeySuffix, raw: string): string {
  const values: readonly string[] = KEYS[suffix].values;
  const valid = ` Valid values: ${values.join(", ")}`;
  if (suffix === "mode" && Object.hasOwn(REFUSED_MODES, raw)) return `${REFUSED_MODES[raw]}.${valid}`;
  if (suffix === "helper" && (UNIMPLEMENTED_HELPERS as readonly string[]).includes(raw)) {
    return (
      `helper "${raw}" is listed by the original kube-nftlb README but nftlb has never implemented it: ` +
      `nftlb would answer "Parsing unknown value" and run without a helper.${valid}`
    );
  }
  const value = JSON.stringify(raw);
  const elsewhere = keysAccepting(raw, suffix);
  if (elsewhere.length > 0) {
    const keys = elsewhere.map(fullKey);
    const spelled = raw.trim().toLowerCase();
    return (
      `invalid value ${value}: that is a value of ${list(keys)}, not of ${suffix}; ` +
      `did you mean ${keys[0]!}: "${spelled}"?${valid}`
    );
  }
  const guess = nearest(raw, values);
  if (guess !== undefined) return `invalid value ${value}; did you mean "${guess}"?${valid}`;
  // A typo of another key's value ("symhsh" as persistence): name that key too.
  for (const other of KEY_SUFFIXES.filter((k) => k !== suffix)) {
    const near = nearest(raw, KEYS[other].values);
    if (near !== undefined)
      return `invalid value ${value}; did you mean ${fullKey(other)}: "${near}" (a ${other}, not a ${suffix})?${valid}`;
  }
  return `invalid value ${value}.${valid}`;
}

const list = (items: string[]): string =>
  items.length < 2 ? (items[0] ?? "") : `${items.slice(0, -1).join(", ")} and ${items.at(-1)!}`;
