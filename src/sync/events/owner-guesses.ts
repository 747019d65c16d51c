/**
 * Which record each identity key pointed at, as this process last read or wrote it: the record store
 * reads those records in the same round trip as the index (one round trip for a known customer instead
 * of two), and locks them in-process (local-locks.ts). Only ever a guess: the store plans from what it
 * reads under WATCH, so a stale entry (a merge elsewhere, another process) costs a read, never a wrong write.
 * Bounded: the oldest entries go first.
 */
import type { IdentityKey } from './identity.js';

const DEFAULT_LIMIT = 50_000;

export class OwnerGuesses {
  private readonly byKey = new Map<IdentityKey, string>();

  constructor(private readonly limit = DEFAULT_LIMIT) {}

  /** The distinct records these keys pointed at last (none for keys never seen). */
  guess(keys: readonly IdentityKey[]): string[] {
    const ids = new Set<string>();
    for (const k of keys) {
      const id = this.byKey.get(k);
      if (id !== undefined) ids.add(id);
    }
    return [...ids];
  }

  /** What the index said (null: no record holds the key). */
  note(owners: ReadonlyMap<IdentityKey, string | null>): void {
    for (const [k, id] of owners) {
      if (id === null) this.byKey.delete(k);
      else this.set(k, id);
    }
  }

  /** A committed write pointed these keys (claimed, and taken in by a merge) at `id`. */
  claimed(claimed: readonly IdentityKey[], id: string, moved: readonly IdentityKey[] = []): void {
    for (const k of claimed) this.set(k, id);
    for (const k of moved) this.set(k, id);
  }

  get size(): number {
    return this.byKey.size;
  }

  private set(k: IdentityKey, id: string): void {
    if (this.byKey.get(k) === id) return;
    this.byKey.delete(k); // re-inserted last: the newest
    this.byKey.set(k, id);
    if (this.byKey.size > this.limit) this.byKey.delete(this.byKey.keys().next().value!);
  }
}
