// Key → set of strings, for indexes where nearly every key has one value (an address claimed by
// one Service, held by one farm; a Service owning one farm). A one-element Set costs ~150 bytes
// on V8 next to the 8 of a string reference: at 10,000 Services the scope index's three such
// maps held ~4 MiB of one-element Sets. So a key holds its one value as is, and a Set only from
// the second value on.
const NONE: readonly string[] = [];

export class Multimap {
  readonly #m = new Map<string, string | Set<string>>();

  get size(): number {
    return this.#m.size;
  }

  add(key: string, value: string): void {
    const had = this.#m.get(key);
    if (had === undefined) this.#m.set(key, value);
    else if (typeof had !== "string") had.add(value);
    else if (had !== value) this.#m.set(key, new Set([had, value]));
  }

  delete(key: string, value: string): void {
    const had = this.#m.get(key);
    if (had === undefined) return;
    if (typeof had === "string") {
      if (had === value) this.#m.delete(key);
    } else if (had.delete(value) && had.size === 1) {
      this.#m.set(key, had.values().next().value!);
    }
  }

  /** The values of `key`, in insertion order (none: empty). */
  get(key: string): Iterable<string> {
    const had = this.#m.get(key);
    return had === undefined ? NONE : typeof had === "string" ? [had] : had;
  }
}
