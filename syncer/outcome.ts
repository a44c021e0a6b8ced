// What a reconcile says became of each key; the worker (worker.ts) turns it into queue policy.
// controller-runtime's split: the reconciler never touches the queue, so the policy (backoff,
// park, forget) lives in one place and a reconcile can be tested by what it returns.

export type Outcome =
  /** Converged: the key's next failure starts its backoff from the base again. */
  | { kind: "done" }
  /** More work left (a removal over this pass's budget): run again now, not as a failure. */
  | { kind: "again" }
  /** A retryable failure: run again after the key's exponential backoff. */
  | { kind: "retry"; reason: string }
  /** nftlb refused the Service's farms: no retry, not even on resync, until the object changes. */
  | { kind: "parked"; reason: string };

export type Outcomes = ReadonlyMap<string, Outcome>;

// When one pass says two things of a key, the stronger holds: a parked key stays parked (the
// same input would fail the same way), and a failure is retried with backoff, not at once.
const RANK: Record<Outcome["kind"], number> = { done: 0, again: 1, retry: 2, parked: 3 };

/** Collects a pass's outcomes; the strongest per key wins. */
export class OutcomeSet {
  readonly #by = new Map<string, Outcome>();

  set(key: string, outcome: Outcome): void {
    const had = this.#by.get(key);
    if (had === undefined || RANK[outcome.kind] > RANK[had.kind]) this.#by.set(key, outcome);
  }

  /** Every key of `keys` gets `outcome` (unless it already has a stronger one). */
  all(keys: Iterable<string>, outcome: Outcome): this {
    for (const key of keys) this.set(key, outcome);
    return this;
  }

  get map(): Outcomes {
    return this.#by;
  }
}

/** nftlb took every write of the pass (a parked Service is an answer, not a failed pass). */
export const succeeded = (outcomes: Outcomes): boolean =>
  ![...outcomes.values()].some((o) => o.kind === "retry");
