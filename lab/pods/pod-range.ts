// The node's pod addresses: index i of the range is the pod IP `${ipPrefix}${firstHost + i}`.

export class PodRange {
  readonly #used = new Set<number>();
  #next = 0;
  readonly size: number;
  constructor(size: number) {
    this.size = size;
  }

  take(): number {
    // Round-robin through the range: a freed address is reused last, so the node's neighbour
    // entry for an old pod has long expired when a new pod takes its address.
    for (let i = 0; i < this.size; i++) {
      const n = (this.#next + i) % this.size;
      if (!this.#used.has(n)) {
        this.#used.add(n);
        this.#next = n + 1;
        return n;
      }
    }
    throw new Error(`the pod range is full (${this.size} pods)`);
  }

  free(n: number): void {
    this.#used.delete(n);
  }
}
