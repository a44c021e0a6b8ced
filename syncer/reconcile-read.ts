// When a pass reads nftlb again rather than trusting the client's picture of it (kept up to date
// from what was written in between): on every full reconcile, and after anything that may have
// put that picture off (a failure, a refused write, a throw, an nftlb restart). And the restart
// sentinel (nftlb/client.ts), planted by the first full reconcile after nftlb (re)started.
import type { NftlbClient, NftlbError } from "../nftlb/index.ts";

export class NftlbReads {
  readonly #nftlb: Pick<NftlbClient, "ping" | "listFarms" | "plantSentinel">;
  #needList = true;
  #sentinel = false;
  /** A request timed out: nftlb is most likely still working on it (see read). */
  #busy = false;
  /** The read started while the caches fill (prefetch), for the first full pass. */
  #prefetched: ReturnType<NftlbClient["listFarms"]> | undefined;
  /** Bumped whenever nftlb may have changed under a read in flight (a restart, a failure). */
  #epoch = 0;

  constructor(nftlb: Pick<NftlbClient, "ping" | "listFarms" | "plantSentinel">) {
    this.#nftlb = nftlb;
  }

  get sentinelPlanted(): boolean {
    return this.#sentinel;
  }

  /** What the client believes nftlb holds may be off: the next pass reads nftlb again. */
  stale(): void {
    this.#needList = true;
    this.#drop();
  }

  /** nftlb lost its farms (restarted): the next pass reads it again and plants the sentinel anew. */
  restarted(): void {
    this.#needList = true;
    this.#sentinel = false;
    this.#drop();
  }

  /** A pass nftlb did not take: read nftlb again, after a timeout once nftlb is free. */
  failed(failure: NftlbError): void {
    this.stale();
    if (failure.timedOut) this.#busy = true;
  }

  /** Before a pass plans: nftlb read again where needed; its error if it did not answer. */
  async read(full: boolean): Promise<NftlbError | undefined> {
    // nftlb serves one request at a time and finishes what it read: after a request timed out
    // it is most likely still applying it. Sending the batch again, or GET /farms (10-25 s at
    // 5,000 farms), would queue behind it and time out in turn, each one more request nftlb
    // still serves. Its cheap ping answers once it is free; then this pass re-reads nftlb and
    // plans only what the abandoned write did not put in place.
    if (this.#busy) {
      const pinged = await this.#nftlb.ping();
      if (!pinged.ok) return pinged.error;
      this.#busy = false;
    }
    // A full reconcile (start, every resync period, a Node change, an nftlb restart) reads nftlb
    // again rather than trusting what the client wrote: whatever changed behind the syncer's back
    // (a backend, address or farm removed, a field edited by hand) is then planned and repaired.
    if (this.#needList || full) {
      const prefetched = this.#prefetched;
      this.#prefetched = undefined;
      const listed = await (prefetched ?? this.#nftlb.listFarms());
      if (!listed.ok) return listed.error;
      this.#needList = false;
    }
    return undefined;
  }

  /**
   * At start, while the informers list the cluster (they talk to the API server, not nftlb):
   * the sentinel planted, then nftlb's farms read, for the first full pass. Planted before the
   * read, an nftlb restart at any moment after it loses the sentinel and the probe sees it.
   */
  prefetch(): void {
    const epoch = this.#epoch;
    this.#prefetched = (async () => {
      const planted = (await this.#nftlb.plantSentinel()).ok;
      if (epoch === this.#epoch) this.#sentinel ||= planted;
      return this.#nftlb.listFarms();
    })();
  }

  #drop(): void {
    this.#prefetched = undefined;
    this.#epoch++;
  }

  /** Just before a full reconcile's write, the sentinel if it is not planted yet. */
  async plantSentinel(full: boolean): Promise<void> {
    // The restart sentinel goes in before the first full write, not after it: nftlb restarting
    // between the write and a later plant would get the sentinel and never look restarted (the
    // node left unbalanced until the next resync). Planted first, a restart at any later moment
    // loses it, and the probe re-programs everything.
    if (full && !this.#sentinel) this.#sentinel = (await this.#nftlb.plantSentinel()).ok;
  }
}
