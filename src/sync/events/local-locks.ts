/**
 * In-process exclusive locks by name, for the record store: the applies of one customer that one
 * process runs at once (a worker's concurrency, a webhook burst for one customer) queue behind each
 * other instead of racing their optimistic transactions, each of which would then be computed again.
 * A lock is never needed for correctness (the transactions stay optimistic: other processes write too);
 * it only spares the retries. Names are taken in sorted order, so two callers never wait on each other.
 */
export class LocalLocks {
  /** Per name, the promise the next taker waits for (the release of the last one queued). */
  private readonly tails = new Map<string, Promise<void>>();

  /** Waits until every one of `names` is free, holds them all; the returned function releases them. */
  async acquire(names: Iterable<string>): Promise<() => void> {
    const releases: Array<() => void> = [];
    for (const name of [...new Set(names)].sort()) {
      const previous = this.tails.get(name);
      let release!: () => void;
      const mine = new Promise<void>((resolve) => (release = resolve));
      this.tails.set(name, mine);
      releases.push(() => {
        release();
        if (this.tails.get(name) === mine) this.tails.delete(name);
      });
      if (previous) await previous;
    }
    return () => {
      for (const r of releases) r();
    };
  }

  /** Names held or waited for (0 when nothing is in flight: nothing leaks). */
  get size(): number {
    return this.tails.size;
  }
}
